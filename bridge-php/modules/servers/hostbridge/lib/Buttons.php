<?php
/**
 * The admin service page's module command buttons (AdminCustomButtonArray), label => the suffix of
 * the hostbridge_<suffix> function each runs. A KVM product (configoption1 "kvm") has the VM's
 * buttons; every other product keeps the hosting ones. Sync usage is hosting only: a VM has no
 * hosting usage to collect.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class Buttons
{
    public const HOSTING = [
        'Redeploy' => 'Redeploy',
        'Verify & Repair' => 'VerifyRepair',
        'Force terminate' => 'ForceTerminate',
        'Sync usage' => 'SyncUsage',
    ];

    /** Retry is Verify & Repair: it runs the deploy machine again from where it stopped. */
    public const KVM = [
        'Start VM' => 'StartVm',
        'Stop VM' => 'StopVm',
        'Reboot VM' => 'RebootVm',
        'Redeploy' => 'Redeploy',
        'Retry' => 'VerifyRepair',
        'Force terminate' => 'ForceTerminate',
    ];

    private const CAPSULE = '\\WHMCS\\Database\\Capsule';

    /** The buttons of the service's product. */
    public static function forProduct(array $params): array
    {
        return self::isKvm($params) ? self::KVM : self::HOSTING;
    }

    /**
     * Whether $params are of a KVM product: configoption1, as WHMCS passes the product's settings;
     * when it is missing (an older caller that passes no product settings), the product's row in
     * tblproducts by its id. Anything unreadable is a hosting product, the module's buttons before KVM.
     */
    public static function isKvm(array $params): bool
    {
        if (array_key_exists('configoption1', $params)) {
            return self::kvmMode($params['configoption1']);
        }
        $pid = Text::int($params['pid'] ?? ($params['packageid'] ?? null));
        $capsule = self::CAPSULE;
        if ($pid === null || $pid <= 0 || !class_exists($capsule)) {
            return false;
        }
        try {
            $mode = $capsule::table('tblproducts')->where('id', $pid)->where('servertype', ModuleLog::MODULE)->value('configoption1');
            return self::kvmMode($mode);
        } catch (\Throwable $e) {
            return false;
        }
    }

    private static function kvmMode($value): bool
    {
        return strtolower(Text::str($value)) === 'kvm';
    }
}
