<?php
/**
 * Server Sync (ListAccounts, WHMCS 7.8+): the daemon's accounts as the rows WHMCS's Server Sync tool
 * compares with its services. Accounts are matched by username; "product" carries the deployment
 * mode, the value of the MetaData ListAccountsProductField (configoption1) their product must have.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class ServerSync
{
    /**
     * @param array $accounts the "accounts" of the daemon's GET /v1/accounts
     * @return list<array{email:string, username:string, domain:string, uniqueIdentifier:string,
     *   product:string, primaryip:string, created:string, status:string}>
     */
    public static function rows(array $accounts): array
    {
        // WHMCS\Service\Status is WHMCS's; outside WHMCS its values are spelt out.
        $statusClass = '\\WHMCS\\Service\\Status';
        $active = class_exists($statusClass) ? constant($statusClass . '::ACTIVE') : 'Active';
        $suspended = class_exists($statusClass) ? constant($statusClass . '::SUSPENDED') : 'Suspended';
        $modes = WhmcsDb::productModes($accounts);
        $out = [];
        foreach ($accounts as $a) {
            if (!is_array($a)) {
                continue;
            }
            $state = strtolower(Text::str($a['state'] ?? ''));
            if ($state === 'terminated') {
                continue; // nothing of it is left on the fleet
            }
            $username = Text::str($a['username'] ?? '');
            $created = Text::str($a['created_at'] ?? '');
            $mode = Text::str($a['mode'] ?? '');
            if ($mode === '') {
                $mode = $modes[Text::int($a['product_id'] ?? null) ?? 0] ?? '';
            }
            $out[] = [
                'email' => Text::str($a['email'] ?? ''),
                'username' => $username,
                'domain' => Text::str($a['domain'] ?? ''),
                'uniqueIdentifier' => $username,
                'product' => $mode,
                'primaryip' => Text::str($a['primary_ip'] ?? ''),
                'created' => preg_match('/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/', $created) ? $created : '',
                'status' => $state === 'suspended' ? $suspended : $active,
            ];
        }
        return $out;
    }
}
