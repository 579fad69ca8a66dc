<?php
/**
 * What the server module reads and writes in WHMCS's own tables, through WHMCS's Capsule: the usage
 * figures of tblhosting and the Server Sync key of tblproducts. Only rows of products that use this
 * module are touched, and nothing here throws (outside WHMCS, with no Capsule, it does nothing).
 */

namespace WHMCS\Module\Server\Hostbridge;

final class WhmcsDb
{
    private const CAPSULE = '\\WHMCS\\Database\\Capsule';

    /**
     * Copies the usage report's disk and bandwidth figures into tblhosting (MB, 0 = unlimited).
     * Rows the daemon has not measured yet (collected_at null) keep their figures; a failure goes to
     * the Module Log under $action.
     */
    public static function storeUsage(array $rows, string $action, array $params): void
    {
        try {
            $capsule = self::CAPSULE;
            if (!class_exists($capsule)) {
                throw new \RuntimeException('WHMCS\\Database\\Capsule is not available');
            }
            // Only services of products that use this module, whatever the daemon reports.
            $products = self::plainList($capsule::table('tblproducts')->where('servertype', ModuleLog::MODULE)->pluck('id'));
            if ($products === []) {
                return;
            }
            foreach ($rows as $row) {
                if ($row['collected_at'] === null) {
                    continue;
                }
                $capsule::table('tblhosting')
                    ->where('id', $row['service_id'])
                    ->whereIn('packageid', $products)
                    ->update([
                        'diskusage' => $row['disk_used_mb'],
                        'disklimit' => $row['disk_limit_mb'],
                        'bwusage' => $row['bw_used_mb'],
                        'bwlimit' => $row['bw_limit_mb'],
                        'lastupdate' => date('Y-m-d H:i:s', intdiv($row['collected_at'], 1000)),
                    ]);
            }
        } catch (\Throwable $e) {
            ModuleLog::failure($action, 'write tblhosting', 'cannot store the usage figures in tblhosting: ' . $e->getMessage(), $params);
        }
    }

    /**
     * The Server Sync key (configoption14) of each hostbridge product the accounts name, by product
     * id ('' when the product has none).
     */
    public static function productSyncKeys(array $accounts): array
    {
        $ids = [];
        foreach ($accounts as $a) {
            $id = is_array($a) ? Text::int($a['product_id'] ?? null) : null;
            if ($id !== null && $id > 0) {
                $ids[$id] = $id;
            }
        }
        $capsule = self::CAPSULE;
        if ($ids === [] || !class_exists($capsule)) {
            return [];
        }
        try {
            $out = [];
            $rows = $capsule::table('tblproducts')->whereIn('id', array_values($ids))->where('servertype', ModuleLog::MODULE)->get(['id', 'configoption14']);
            foreach ($rows as $row) {
                $out[(int) $row->id] = trim(Text::str($row->configoption14 ?? ''));
            }
            return $out;
        } catch (\Throwable $e) {
            return []; // the product column is a hint for Server Sync; the list is still right without it
        }
    }

    /** A Laravel collection or an array as a plain list. */
    private static function plainList($v): array
    {
        if (is_object($v) && method_exists($v, 'all')) {
            $v = $v->all();
        }
        return is_array($v) ? array_values($v) : [];
    }
}
