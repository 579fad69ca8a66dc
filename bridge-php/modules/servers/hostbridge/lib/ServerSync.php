<?php
/**
 * Server Sync (ListAccounts, WHMCS 7.8+): the daemon's accounts as the rows WHMCS's Server Sync tool
 * compares with its services. Accounts are matched by username; "product" carries the Server Sync key
 * of the account's product (MetaData ListAccountsProductField, configoption14), which tells apart
 * two products of the same deployment mode. A product without a key gets a value no product has, so
 * Server Sync never pairs its accounts with another product.
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
        $keys = WhmcsDb::productSyncKeys($accounts);
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
            $productId = Text::int($a['product_id'] ?? null) ?? 0;
            $product = $keys[$productId] ?? '';
            if ($product === '' && array_key_exists($productId, $keys)) {
                $product = self::noKey($productId);
            }
            $out[] = [
                'email' => Text::str($a['email'] ?? ''),
                'username' => $username,
                'domain' => Text::str($a['domain'] ?? ''),
                'uniqueIdentifier' => $username,
                'product' => $product,
                'primaryip' => Text::str($a['primary_ip'] ?? ''),
                'created' => preg_match('/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/', $created) ? $created : '',
                'status' => $state === 'suspended' ? $suspended : $active,
            ];
        }
        return $out;
    }

    /** What a hostbridge product without a Server Sync key is reported as: readable, and no key's value. */
    public static function noKey(int $productId): string
    {
        return "(product {$productId} has no Server Sync key)";
    }
}
