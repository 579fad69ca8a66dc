<?php
/**
 * hostbridge — WHMCS server module (PHP 8.1+, no Composer at runtime).
 *
 * A thin shim: every function packs the parts of $params the daemon needs, signs the request
 * (lib/DaemonClient.php, scheme in docs/api.md), sends it with short timeouts (connect 3 s,
 * total 10 s) and returns 'success' or the daemon's error text prefixed "hostbridge: ". Read-side
 * functions (ClientArea, AdminServicesTabFields, UsageUpdate, MetricProvider, ListAccounts) show the
 * daemon's answers. No function throws, except the Server group loader, because a thrown Exception
 * is how WHMCS shows a loader's error: any failure, including empty or partial $params, becomes a
 * readable message. Every call is written to the Module Log with the shared secret and the
 * passwords masked.
 *
 * The WHMCS server record of a hostbridge product is the daemon itself: hostname or IP, port,
 * password = the daemon's HOSTBRIDGE_SECRET, "secure" = HTTPS (behind a TLS proxy).
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

use WHMCS\Module\Server\Hostbridge\DaemonClient;
use WHMCS\Module\Server\Hostbridge\DaemonError;

if (!class_exists(DaemonClient::class, false)) {
    require_once __DIR__ . '/lib/DaemonClient.php';
}

const HOSTBRIDGE_MODULE = 'hostbridge';
const HOSTBRIDGE_MASK = '********';

function hostbridge_MetaData(): array
{
    return [
        'DisplayName' => 'hostbridge',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '8740',
        'DefaultSSLPort' => '443',
        'ServiceSingleSignOnLabel' => false,
        // Server Sync and usage-metric tenants are matched by the service's username: it is unique
        // per daemon, unlike the domain (a Vanity service has none of its own).
        'ListAccountsUniqueIdentifierDisplayName' => 'Username',
        'ListAccountsUniqueIdentifierField' => 'username',
        // WHMCS matches ListAccounts' "product" against this Module Settings field of its products.
        // No setting holds a product id; the deployment mode (configoption1) is what identifies the
        // kind of product on the daemon, so ListAccounts reports each account's mode there.
        'ListAccountsProductField' => 'configoption1',
    ];
}

/**
 * Product Module Settings. WHMCS stores the n-th entry in tblproducts.configoptionN, so these
 * positions are fixed for good; add new settings at the end only (at most 24):
 *   configoption1   Deployment mode            dropdown split | unified | vanity
 *   configoption2   Server group               dropdown (loader: the daemon's server groups), the group id
 *   configoption3   Web                        yesno
 *   configoption4   Mail                       yesno
 *   configoption5   DNS                        yesno
 *   configoption6   Web disk quota (MB)        text, MB or "unlimited"; 0 disables the web role
 *   configoption7   Mail disk quota (MB)       text, MB or "unlimited"; 0 disables the mail role
 *   configoption8   Web bandwidth (MB)         text, MB or "unlimited"
 *   configoption9   Web domains                text, a number or "unlimited"
 *   configoption10  Databases                  text, a number or "unlimited"
 *   configoption11  Mail accounts              text, a number or "unlimited"
 *   configoption12  Vanity site quota (MB)     text, MB or "unlimited"
 *   configoption13  Vanity mailbox quota (MB)  text, MB or "unlimited"
 * The daemon applies the overrides: configurable options web_disk_quota, mail_disk_quota,
 * web_bandwidth, web_domains, databases, mail_accounts and vanity_domain, custom field vanity_name.
 */
function hostbridge_ConfigOptions(): array
{
    $number = static fn (string $name, string $default, string $description, string $size = '10'): array => [
        'FriendlyName' => $name,
        'Type' => 'text',
        'Size' => $size,
        'Default' => $default,
        'Description' => $description,
    ];
    return [
        'Deployment mode' => [
            'FriendlyName' => 'Deployment mode',
            'Type' => 'dropdown',
            'Options' => 'split,unified,vanity',
            'Default' => 'split',
            'Description' => 'split: one account per role, web, mail and DNS may sit on different nodes; unified: one account for web and mail on one node; vanity: name.yourdomain sites and name@yourdomain mailboxes on a domain you own (the client picks the name in the custom field vanity_name, the configurable option vanity_domain picks the parent domain). Locked once a service is created.',
            'SimpleMode' => true,
        ],
        'Server group' => [
            'FriendlyName' => 'Server group',
            'Type' => 'dropdown',
            'Loader' => 'hostbridge_LoaderServerGroups',
            'Description' => 'the hostbridge server group to deploy on (listed by the daemon)',
            'SimpleMode' => true,
        ],
        'Web' => [
            'FriendlyName' => 'Web',
            'Type' => 'yesno',
            'Description' => 'create a web domain (only when the web disk quota is not 0)',
            'SimpleMode' => true,
        ],
        'Mail' => [
            'FriendlyName' => 'Mail',
            'Type' => 'yesno',
            'Description' => 'create a mail domain (only when the mail disk quota is not 0)',
            'SimpleMode' => true,
        ],
        'DNS' => [
            'FriendlyName' => 'DNS',
            'Type' => 'yesno',
            'Description' => 'create a DNS zone',
            'SimpleMode' => true,
        ],
        'Web disk quota (MB)' => $number('Web disk quota (MB)', '1024',
            'MB, or unlimited; 0 disables the web role. The configurable option web_disk_quota overrides it.', '8'),
        'Mail disk quota (MB)' => $number('Mail disk quota (MB)', '1024',
            'MB, or unlimited; 0 disables the mail role. The configurable option mail_disk_quota overrides it.', '8'),
        'Web bandwidth (MB)' => $number('Web bandwidth (MB)', 'unlimited',
            'MB per month, or unlimited. The configurable option web_bandwidth overrides it.'),
        'Web domains' => $number('Web domains', '1',
            'web domains the client may add, or unlimited. The configurable option web_domains overrides it.'),
        'Databases' => $number('Databases', 'unlimited',
            'a number, or unlimited. The configurable option databases overrides it.'),
        'Mail accounts' => $number('Mail accounts', 'unlimited',
            'mailboxes, a number or unlimited. The configurable option mail_accounts overrides it.'),
        'Vanity site quota (MB)' => $number('Vanity site quota (MB)', '1024',
            'vanity mode: disk of each name.yourdomain site, MB or unlimited'),
        'Vanity mailbox quota (MB)' => $number('Vanity mailbox quota (MB)', '1024',
            'vanity mode: size of each name@yourdomain mailbox, MB or unlimited'),
    ];
}

/**
 * Loader of "Server group": the daemon's server groups as [id => name]. WHMCS shows the message
 * of a thrown Exception beside the field, so every failure is thrown, readable.
 *
 * @throws \Exception
 */
function hostbridge_LoaderServerGroups(array $params): array
{
    $r = hostbridge_call($params, 'LoaderServerGroups', 'GET', '/v1/server-groups', null);
    if (!$r['ok']) {
        throw new \Exception($r['error']);
    }
    $groups = $r['data']['groups'] ?? null;
    if (!is_array($groups)) {
        throw new \Exception('hostbridge: the daemon\'s answer to GET /v1/server-groups has no list of groups');
    }
    $out = [];
    foreach ($groups as $g) {
        $id = is_array($g) ? hostbridge_int($g['id'] ?? null) : null;
        if ($id === null || $id <= 0) {
            continue;
        }
        $name = hostbridge_str($g['name'] ?? '');
        $out[$id] = $name !== '' ? $name : ('group ' . $id);
    }
    if ($out === []) {
        throw new \Exception('hostbridge: the daemon has no server group yet; create one on the daemon first');
    }
    return $out;
}

function hostbridge_TestConnection(array $params): array
{
    $r = hostbridge_call($params, 'TestConnection', 'GET', '/v1/status', null);
    if ($r['ok']) {
        return ['success' => true, 'error' => ''];
    }
    return ['success' => false, 'error' => $r['error']];
}

function hostbridge_CreateAccount(array $params): string
{
    return hostbridge_run($params, 'CreateAccount', 'POST', '/v1/services', static function (array $p): array {
        return [
            'whmcs_service_id' => hostbridge_serviceId($p),
            'client_id' => hostbridge_int($p['userid'] ?? null),
            'product_id' => hostbridge_int($p['pid'] ?? null),
            'domain' => hostbridge_str($p['domain'] ?? ''),
            'username' => hostbridge_str($p['username'] ?? ''),
            'password' => hostbridge_str($p['password'] ?? '', false),
            'email' => hostbridge_str(is_array($p['clientsdetails'] ?? null) ? ($p['clientsdetails']['email'] ?? '') : ''),
            'server_group_id' => hostbridge_idOrString($p['configoption2'] ?? null),
            'product' => hostbridge_product($p),
            'config_options' => hostbridge_map($p['configoptions'] ?? null),
            'custom_fields' => hostbridge_map($p['customfields'] ?? null),
        ];
    });
}

function hostbridge_SuspendAccount(array $params): string
{
    return hostbridge_serviceAction($params, 'SuspendAccount', 'suspend', static fn (array $p): array => [
        'reason' => hostbridge_str($p['suspendreason'] ?? ''),
    ]);
}

function hostbridge_UnsuspendAccount(array $params): string
{
    return hostbridge_serviceAction($params, 'UnsuspendAccount', 'unsuspend');
}

function hostbridge_TerminateAccount(array $params): string
{
    return hostbridge_serviceAction($params, 'TerminateAccount', 'terminate');
}

function hostbridge_ChangePackage(array $params): string
{
    return hostbridge_serviceAction($params, 'ChangePackage', 'change-package', static fn (array $p): array => [
        'product_id' => hostbridge_int($p['pid'] ?? null),
        'product' => hostbridge_product($p),
        'config_options' => hostbridge_map($p['configoptions'] ?? null),
        'custom_fields' => hostbridge_map($p['customfields'] ?? null),
    ]);
}

function hostbridge_ChangePassword(array $params): string
{
    return hostbridge_serviceAction($params, 'ChangePassword', 'change-password', static fn (array $p): array => [
        'password' => hostbridge_str($p['password'] ?? '', false),
    ]);
}

function hostbridge_AdminCustomButtonArray(): array
{
    return [
        'Redeploy' => 'Redeploy',
        'Verify & Repair' => 'VerifyRepair',
        'Force terminate' => 'ForceTerminate',
        'Sync usage' => 'SyncUsage',
    ];
}

function hostbridge_Redeploy(array $params): string
{
    return hostbridge_serviceAction($params, 'Redeploy', 'actions/redeploy');
}

function hostbridge_VerifyRepair(array $params): string
{
    return hostbridge_serviceAction($params, 'VerifyRepair', 'actions/verify-repair');
}

function hostbridge_ForceTerminate(array $params): string
{
    return hostbridge_serviceAction($params, 'ForceTerminate', 'actions/force-terminate');
}

function hostbridge_SyncUsage(array $params): string
{
    return hostbridge_serviceAction($params, 'SyncUsage', 'actions/sync-usage');
}

/**
 * The client's product-details page: the daemon renders (and escapes) the fragment; the overview
 * template prints it as is and reloads the page every refresh_s seconds while the service deploys.
 * A client sees a plain apology when the daemon cannot answer; the detail goes to the Module Log.
 */
function hostbridge_ClientArea(array $params): array
{
    $r = hostbridge_serviceView($params, 'ClientArea', 'client');
    if (!$r['ok']) {
        return [
            'tabOverviewModuleOutputTemplate' => 'templates/error.tpl',
            'templateVariables' => [
                'hostbridgeError' => 'The status of this service cannot be shown right now. Please try again in a few minutes, or contact support if this persists.',
            ],
        ];
    }
    return [
        'tabOverviewModuleOutputTemplate' => 'templates/overview.tpl',
        'templateVariables' => [
            'hostbridgeHtml' => $r['html'],
            'hostbridgeState' => $r['state'],
            'hostbridgeRefresh' => $r['refresh_s'],
        ],
    ];
}

/** The admin service page: the daemon's admin fragment, or one line saying why it is missing. */
function hostbridge_AdminServicesTabFields(array $params): array
{
    $r = hostbridge_serviceView($params, 'AdminServicesTabFields', 'admin');
    if (!$r['ok']) {
        return ['hostbridge' => '<span class="text-danger">' . htmlspecialchars($r['error'], ENT_QUOTES, 'UTF-8') . '</span>'];
    }
    return ['hostbridge' => $r['html']];
}

/**
 * Daily cron, once per hostbridge server record: copies the daemon's disk and bandwidth figures
 * into tblhosting (disk/bw usage and limits in MB, 0 = unlimited). Services the daemon has not
 * measured yet (collected_at null) keep their figures. Returns nothing and never throws.
 */
function hostbridge_UsageUpdate(array $params): void
{
    try {
        $rows = hostbridge_usageRows($params, 'UsageUpdate');
    } catch (\Throwable $e) {
        return; // hostbridge_call has logged why
    }
    $written = 0;
    try {
        $capsule = '\\WHMCS\\Database\\Capsule';
        if (!class_exists($capsule)) {
            throw new \RuntimeException('WHMCS\\Database\\Capsule is not available');
        }
        // Only services of products that use this module, whatever the daemon reports.
        $products = hostbridge_list($capsule::table('tblproducts')->where('servertype', HOSTBRIDGE_MODULE)->pluck('id'));
        if ($products === []) {
            return;
        }
        foreach ($rows as $row) {
            if ($row['collected_at'] === null) {
                continue;
            }
            $written += (int) $capsule::table('tblhosting')
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
        hostbridge_log('UsageUpdate', 'write tblhosting', 'cannot store the usage figures in tblhosting: ' . $e->getMessage(), $params);
    }
}

/** Usage billing (WHMCS 7.9+): the provider object; see lib/MetricsProvider.php. */
function hostbridge_MetricProvider(array $params)
{
    if (!class_exists(\WHMCS\Module\Server\Hostbridge\MetricsProvider::class)) {
        require_once __DIR__ . '/lib/MetricsProvider.php';
    }
    return new \WHMCS\Module\Server\Hostbridge\MetricsProvider(
        static fn (): array => hostbridge_usageRows($params, 'MetricProvider')
    );
}

/**
 * Server Sync (WHMCS 7.8+): the daemon's accounts. "product" carries the account's deployment mode,
 * the value of ListAccountsProductField (configoption1) that its product must have.
 */
function hostbridge_ListAccounts(array $params): array
{
    $r = hostbridge_call($params, 'ListAccounts', 'GET', '/v1/accounts', null);
    if (!$r['ok']) {
        return ['success' => false, 'error' => $r['error']];
    }
    $accounts = $r['data']['accounts'] ?? null;
    if (!is_array($accounts)) {
        return ['success' => false, 'error' => 'hostbridge: the daemon\'s answer to GET /v1/accounts has no list of accounts'];
    }
    $statusClass = '\\WHMCS\\Service\\Status';
    $active = class_exists($statusClass) ? constant($statusClass . '::ACTIVE') : 'Active';
    $suspended = class_exists($statusClass) ? constant($statusClass . '::SUSPENDED') : 'Suspended';
    $modes = hostbridge_productModes($accounts);
    $out = [];
    foreach ($accounts as $a) {
        if (!is_array($a)) {
            continue;
        }
        $state = strtolower(hostbridge_str($a['state'] ?? ''));
        if ($state === 'terminated') {
            continue; // nothing of it is left on the fleet
        }
        $username = hostbridge_str($a['username'] ?? '');
        $created = hostbridge_str($a['created_at'] ?? '');
        $mode = hostbridge_str($a['mode'] ?? '');
        if ($mode === '') {
            $mode = $modes[hostbridge_int($a['product_id'] ?? null) ?? 0] ?? '';
        }
        $out[] = [
            'email' => hostbridge_str($a['email'] ?? ''),
            'username' => $username,
            'domain' => hostbridge_str($a['domain'] ?? ''),
            'uniqueIdentifier' => $username,
            'product' => $mode,
            'primaryip' => hostbridge_str($a['primary_ip'] ?? ''),
            'created' => preg_match('/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/', $created) ? $created : '',
            'status' => $state === 'suspended' ? $suspended : $active,
        ];
    }
    return ['success' => true, 'accounts' => $out];
}

// ---------------------------------------------------------------------------------------------
// Helpers (not WHMCS entry points).

/** POST /v1/services/{service_id}/{suffix} with the body $build($params) ({} when none). */
function hostbridge_serviceAction(array $params, string $action, string $suffix, ?callable $build = null): string
{
    $path = static fn (array $p): string => '/v1/services/' . hostbridge_serviceId($p) . '/' . $suffix;
    return hostbridge_run($params, $action, 'POST', $path, $build ?? static fn (array $p): array => []);
}

/**
 * Runs one call for an action function: 'success', or "hostbridge: <reason>".
 *
 * @param string|callable $path  the path, or a function of $params that builds it
 * @param callable|null   $build a function of $params that builds the body (null: no body)
 */
function hostbridge_run(array $params, string $action, string $method, $path, ?callable $build): string
{
    $r = hostbridge_call($params, $action, $method, $path, $build);
    return $r['ok'] ? 'success' : $r['error'];
}

/**
 * Sends one signed request, logs it (masked) and never throws.
 *
 * @return array{ok:bool, data:?array, error:string}
 */
function hostbridge_call(array $params, string $action, string $method, $path, $body): array
{
    $mask = hostbridge_secrets($params);
    $request = ['method' => $method, 'url' => null, 'path' => null, 'body' => null];
    $response = '';
    $processed = '';
    $result = ['ok' => false, 'data' => null, 'error' => ''];
    try {
        $client = DaemonClient::fromParams($params);
        $request['url'] = $client->baseUrl();
        $p = is_callable($path) ? $path($params) : (string) $path;
        $request['path'] = $p;
        $payload = is_callable($body) ? $body($params) : $body;
        $request['body'] = hostbridge_redact($payload);
        $answer = $client->request($method, $p, $payload);
        $response = $answer['raw'];
        $processed = $answer['data'];
        $result = ['ok' => true, 'data' => $answer['data'], 'error' => ''];
    } catch (DaemonError $e) {
        $response = $e->responseBody !== '' ? $e->responseBody : $e->getMessage();
        $result['error'] = 'hostbridge: ' . $e->getMessage();
    } catch (\Throwable $e) {
        $response = get_class($e) . ': ' . $e->getMessage();
        $result['error'] = 'hostbridge: unexpected error in the module: ' . $e->getMessage();
    }
    $result['error'] = hostbridge_scrub($result['error'], $mask);
    if (!$result['ok']) {
        $processed = $result['error'];
    }
    try {
        if (function_exists('logModuleCall')) {
            logModuleCall(HOSTBRIDGE_MODULE, $action, $request, hostbridge_scrub((string) $response, $mask), $processed, $mask);
        }
    } catch (\Throwable $e) {
        // The Module Log is an aid; a failure to write it must not fail the call.
    }
    return $result;
}

/** The strings that must never reach the Module Log: the shared secret and any password. */
function hostbridge_secrets(array $params): array
{
    $out = [];
    foreach (['serverpassword', 'password', 'serveraccesshash'] as $k) {
        $v = $params[$k] ?? null;
        if (is_scalar($v) && (string) $v !== '') {
            $out[] = (string) $v;
        }
    }
    return array_values(array_unique($out));
}

/**
 * Masks the secrets in a message or a logged answer. Strings shorter than 6 characters are left
 * alone here (they would garble ordinary words; no message is built from them anyway).
 */
function hostbridge_scrub(string $text, array $secrets): string
{
    foreach ($secrets as $s) {
        if (strlen($s) >= 6) {
            $text = str_replace($s, HOSTBRIDGE_MASK, $text);
        }
    }
    return $text;
}

/** The body as logged: passwords replaced (the Module Log masks too; this does not rely on it). */
function hostbridge_redact($body)
{
    if ($body instanceof \stdClass) {
        return (object) hostbridge_redact((array) $body);
    }
    if (!is_array($body)) {
        return $body;
    }
    foreach ($body as $k => $v) {
        if (is_string($k) && stripos($k, 'password') !== false) {
            $body[$k] = HOSTBRIDGE_MASK;
        } elseif (is_array($v) || $v instanceof \stdClass) {
            $body[$k] = hostbridge_redact($v);
        }
    }
    return $body;
}

/** The WHMCS service id (tblhosting.id) as a positive integer. */
function hostbridge_serviceId(array $params): int
{
    $id = hostbridge_int($params['serviceid'] ?? null);
    if ($id === null || $id <= 0) {
        throw new DaemonError('the service id (serviceid) is missing from the module parameters');
    }
    return $id;
}

function hostbridge_int($v): ?int
{
    if (is_int($v)) {
        return $v;
    }
    if (is_string($v) && preg_match('/^\s*\d{1,18}\s*$/', $v)) {
        return (int) $v;
    }
    if (is_float($v) && floor($v) === $v) {
        return (int) $v;
    }
    return null;
}

/** A number when the value is all digits, null when empty, else the trimmed string. */
function hostbridge_idOrString($v)
{
    $n = hostbridge_int($v);
    if ($n !== null) {
        return $n;
    }
    $s = hostbridge_str($v);
    return $s === '' ? null : $s;
}

function hostbridge_str($v, bool $trim = true): string
{
    if (!is_scalar($v)) {
        return '';
    }
    if (is_bool($v)) {
        return $v ? 'on' : '';
    }
    return $trim ? trim((string) $v) : (string) $v;
}

/** configoption1..configoption24 of the product, as strings ('' when unset). */
function hostbridge_product(array $params): object
{
    $out = [];
    for ($i = 1; $i <= 24; $i++) {
        $out['configoption' . $i] = hostbridge_str($params['configoption' . $i] ?? '', false);
    }
    return (object) $out;
}

/** A name => value map (configurable options, custom fields) as a JSON object of scalars. */
function hostbridge_map($v): object
{
    $out = [];
    if (is_array($v)) {
        foreach ($v as $name => $value) {
            if (is_scalar($value) || $value === null) {
                $out[(string) $name] = $value ?? '';
            }
        }
    }
    return (object) $out;
}

/**
 * GET /v1/services/{id}/view?audience=…: the daemon's rendered fragment.
 *
 * @return array{ok:bool, html:string, state:string, refresh_s:?int, error:string}
 */
function hostbridge_serviceView(array $params, string $action, string $audience): array
{
    $path = static fn (array $p): string => '/v1/services/' . hostbridge_serviceId($p) . '/view?audience=' . $audience;
    $r = hostbridge_call($params, $action, 'GET', $path, null);
    $out = ['ok' => false, 'html' => '', 'state' => '', 'refresh_s' => null, 'error' => $r['error']];
    if (!$r['ok']) {
        return $out;
    }
    $html = $r['data']['html'] ?? null;
    if (!is_string($html)) {
        $out['error'] = 'hostbridge: the daemon\'s view of this service has no HTML';
        return $out;
    }
    $refresh = hostbridge_int($r['data']['refresh_s'] ?? null);
    return [
        'ok' => true,
        'html' => $html,
        'state' => hostbridge_str($r['data']['state'] ?? ''),
        // A reload faster than every 2 s would hammer WHMCS; slower than 5 min is no live page.
        'refresh_s' => $refresh === null || $refresh <= 0 ? null : min(300, max(2, $refresh)),
        'error' => '',
    ];
}

/**
 * The daemon's usage report, normalised (lib/UsageReport.php).
 *
 * @throws DaemonError when the daemon cannot be asked or answers nonsense (already logged)
 */
function hostbridge_usageRows(array $params, string $action): array
{
    if (!class_exists(\WHMCS\Module\Server\Hostbridge\UsageReport::class)) {
        require_once __DIR__ . '/lib/UsageReport.php';
    }
    $r = hostbridge_call($params, $action, 'GET', '/v1/usage', null);
    if (!$r['ok']) {
        throw new DaemonError($r['error']);
    }
    try {
        return \WHMCS\Module\Server\Hostbridge\UsageReport::parse($r['data']);
    } catch (DaemonError $e) {
        hostbridge_log($action, 'GET /v1/usage', 'hostbridge: ' . $e->getMessage(), $params);
        throw $e;
    }
}

/** The deployment mode (configoption1) of each hostbridge product the accounts name, by product id. */
function hostbridge_productModes(array $accounts): array
{
    $ids = [];
    foreach ($accounts as $a) {
        $id = is_array($a) ? hostbridge_int($a['product_id'] ?? null) : null;
        if ($id !== null && $id > 0) {
            $ids[$id] = $id;
        }
    }
    $capsule = '\\WHMCS\\Database\\Capsule';
    if ($ids === [] || !class_exists($capsule)) {
        return [];
    }
    try {
        $out = [];
        $rows = $capsule::table('tblproducts')->whereIn('id', array_values($ids))->where('servertype', HOSTBRIDGE_MODULE)->get(['id', 'configoption1']);
        foreach ($rows as $row) {
            $out[(int) $row->id] = hostbridge_str($row->configoption1 ?? '');
        }
        return $out;
    } catch (\Throwable $e) {
        return []; // the product column is a hint for Server Sync; the list is still right without it
    }
}

/** A Laravel collection or an array as a plain list. */
function hostbridge_list($v): array
{
    if (is_object($v) && method_exists($v, 'all')) {
        $v = $v->all();
    }
    return is_array($v) ? array_values($v) : [];
}

/** One Module Log entry for a failure that is not an HTTP call; never throws. */
function hostbridge_log(string $action, string $what, string $message, array $params): void
{
    $mask = hostbridge_secrets($params);
    try {
        if (function_exists('logModuleCall')) {
            logModuleCall(HOSTBRIDGE_MODULE, $action, $what, '', hostbridge_scrub($message, $mask), $mask);
        }
    } catch (\Throwable $e) {
        // see hostbridge_call
    }
}
