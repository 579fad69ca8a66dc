<?php
/**
 * hostbridge — WHMCS server module (PHP 8.1+, no Composer at runtime).
 *
 * A thin shim: every function packs the parts of $params the daemon needs, signs the request
 * (lib/DaemonClient.php, scheme in docs/api.md), sends it with short timeouts (connect 3 s,
 * total 10 s) and returns 'success' or the daemon's error text prefixed "hostbridge: ". No
 * function throws: any failure, including empty or partial $params, becomes a readable string.
 * Every call is written to the Module Log with the shared secret and the passwords masked.
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
    ];
}

/**
 * Product Module Settings. WHMCS stores the n-th entry in tblproducts.configoptionN, so these
 * positions are fixed for good; add new settings at the end only (at most 24):
 *   configoption1  Deployment mode       dropdown split | unified | vanity
 *   configoption2  Server group          text, the daemon's server group id
 *   configoption3  Web                   yesno
 *   configoption4  Mail                  yesno
 *   configoption5  DNS                   yesno
 *   configoption6  Web disk quota (MB)   text
 *   configoption7  Mail disk quota (MB)  text
 */
function hostbridge_ConfigOptions(): array
{
    return [
        'Deployment mode' => [
            'FriendlyName' => 'Deployment mode',
            'Type' => 'dropdown',
            'Options' => 'split,unified,vanity',
            'Default' => 'split',
            'Description' => 'split: one account per role, web, mail and DNS may sit on different nodes; unified: one account for web and mail on one node; vanity: name.yourdomain sites and name@yourdomain mailboxes on a domain you own. Locked once a service is created.',
            'SimpleMode' => true,
        ],
        'Server group' => [
            'FriendlyName' => 'Server group',
            'Type' => 'text',
            'Size' => '10',
            'Description' => 'id of the hostbridge server group to deploy on',
            'SimpleMode' => true,
        ],
        'Web' => [
            'FriendlyName' => 'Web',
            'Type' => 'yesno',
            'Description' => 'create a web domain',
            'SimpleMode' => true,
        ],
        'Mail' => [
            'FriendlyName' => 'Mail',
            'Type' => 'yesno',
            'Description' => 'create a mail domain',
            'SimpleMode' => true,
        ],
        'DNS' => [
            'FriendlyName' => 'DNS',
            'Type' => 'yesno',
            'Description' => 'create a DNS zone',
            'SimpleMode' => true,
        ],
        'Web disk quota (MB)' => [
            'FriendlyName' => 'Web disk quota (MB)',
            'Type' => 'text',
            'Size' => '8',
            'Default' => '0',
            'Description' => 'MB; 0 = unlimited',
        ],
        'Mail disk quota (MB)' => [
            'FriendlyName' => 'Mail disk quota (MB)',
            'Type' => 'text',
            'Size' => '8',
            'Default' => '0',
            'Description' => 'MB; 0 = unlimited',
        ],
    ];
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
            'service_id' => hostbridge_serviceId($p),
            'client_id' => hostbridge_int($p['userid'] ?? null),
            'product_id' => hostbridge_int($p['pid'] ?? null),
            'domain' => hostbridge_str($p['domain'] ?? ''),
            'username' => hostbridge_str($p['username'] ?? ''),
            'password' => hostbridge_str($p['password'] ?? '', false),
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
