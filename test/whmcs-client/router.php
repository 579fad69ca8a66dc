<?php
/**
 * A WHMCS client area stand-in for `php -S` (router script), doing for the product details page what
 * WHMCS does, from WHMCS's developer documentation (client area output, custom functions):
 *  - dologin.php: a client logs in (tblclients: email, password hash); the session holds
 *    $_SESSION['uid'], as WHMCS's does; clientarea.php without a session shows the login form;
 *  - clientarea.php?action=productdetails&id=N: the service must belong to the logged-in client
 *    (tblhosting.userid), else WHMCS's "not found" page and the module is never called; the module's
 *    params are built from tblhosting, tblproducts (configoption1…) and the server record; then
 *    hostbridge_ClientArea($params) and its tabOverviewModuleOutputTemplate rendered with
 *    templateVariables by a minimal Smarty (the constructs the module's .tpl files use), inside
 *    the client area's page shell;
 *  - …&modop=custom&a=X: runs hostbridge_X($params) only when X is listed by
 *    hostbridge_ClientAreaAllowedFunctions() (or ClientAreaCustomButtonArray), before the page;
 *    'success' shows a green "Action completed successfully", anything else a red alert with the
 *    text; a function may also answer by itself and end the request (JSON, a redirect);
 *  - generate_token('plain') / check_token('WHMCS.default'): the client session's CSRF token; a
 *    wrong or missing token stops the request with WHMCS's "Invalid CSRF Protection Token".
 * The tables come from the JSON file in HOSTBRIDGE_WHMCS_STATE (re-read on every request, so a test
 * may change a service's status), loaded into the Capsule stand-in of the PHP tests.
 */

function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
{
    // WHMCS writes tblmodulelog; the stand-in appends what it is given (masked by the module) to a file the test reads.
    $log = getenv('HOSTBRIDGE_WHMCS_MODULELOG');
    if ($log) {
        file_put_contents($log, json_encode([$action, $requestString, $responseData, $processedData]) . "\n", FILE_APPEND);
    }
}

require_once dirname(__DIR__) . '/whmcs-stand-in/common.php';

use WHMCS\Database\Capsule;

/** WHMCS's check: the request's token must be the session's, else the request stops here. */
function check_token($namespace = 'WHMCS.default')
{
    $sent = (string) ($_POST['token'] ?? ($_GET['token'] ?? ''));
    if (empty($_SESSION['token']) || !hash_equals((string) $_SESSION['token'], $sent)) {
        http_response_code(400);
        shell('Error', '<div class="alert alert-danger" id="csrf-error">Invalid CSRF Protection Token</div>');
        exit;
    }
    return true;
}

$state = standInStart('WHMCSClient');

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);

/** The client area's page shell around some content (WHMCS's six theme, much reduced). */
function shell(string $title, string $content): void
{
    $client = isset($_SESSION['uid']) ? Capsule::table('tblclients')->where('id', (int) $_SESSION['uid'])->first(['firstname']) : null;
    if (!headers_sent()) {
        header('Content-Type: text/html; charset=utf-8');
    }
    echo '<!doctype html><html><head><meta charset="utf-8"><title>' . htmlspecialchars($title) . ' - Client Area</title>'
        . '<style>body{margin:0;background:#f4f4f4;font:14px/1.4 Helvetica,Arial,sans-serif;color:#333}#header{background:#1a4d80;color:#fff;padding:8px}'
        . '#header a{color:#fff}.main{max-width:1000px;margin:12px auto;background:#fff;padding:12px}.alert{padding:8px 12px;margin:8px 0;border-radius:4px}'
        . '.alert-success{background:#dff0d8;color:#3c763d}.alert-danger{background:#f2dede;color:#a94442}.alert-warning{background:#fcf8e3}</style></head><body>'
        . '<div id="header">Client Area · ' . ($client ? 'Hello, <span id="whmcs-client">' . htmlspecialchars($client->firstname) . '</span> · <a href="logout.php">Logout</a>' : 'not logged in') . '</div>'
        . '<div class="main"><h1>' . htmlspecialchars($title) . '</h1>' . $content . '</div></body></html>';
}

/** The Smarty constructs the module's templates use: comments, {$v nofilter}, {$v|escape:'html'}, {$v}, {if $v}…{/if}. */
function renderTpl(string $file, array $vars): string
{
    $src = (string) file_get_contents($file);
    $src = preg_replace('/\{\*.*?\*\}/s', '', $src);
    $value = static fn (string $name) => $vars[$name] ?? null;
    $src = preg_replace_callback('/\{if \$(\w+)\}(.*?)\{\/if\}/s', static fn ($m) => $value($m[1]) ? $m[2] : '', $src);
    $src = preg_replace_callback('/\{\$(\w+) nofilter\}/', static fn ($m) => (string) $value($m[1]), $src);
    // WHMCS escapes template output by default; |escape:'html' says the same explicitly.
    return preg_replace_callback('/\{\$(\w+)(?:\|escape:\'html\')?\}/', static fn ($m) => htmlspecialchars((string) $value($m[1]), ENT_QUOTES, 'UTF-8'), $src);
}

/** The module's $params for a service, as WHMCS builds them. */
function moduleParams(array $state, object $service): array
{
    $product = Capsule::table('tblproducts')->where('id', (int) $service->packageid)->first();
    $params = ($state['server_params'] ?? []) + [
        'serviceid' => (int) $service->id, 'userid' => (int) $service->userid, 'pid' => (int) $service->packageid,
        'domain' => (string) $service->domain, 'username' => (string) ($service->username ?? ''), 'password' => '',
        'status' => (string) $service->domainstatus, 'moduletype' => 'hostbridge',
    ];
    foreach ((array) $product as $k => $v) {
        if (preg_match('/^configoption\d+$/', (string) $k)) {
            $params[$k] = $v;
        }
    }
    return $params;
}

switch ($path) {
    case '/dologin.php':
        $row = Capsule::table('tblclients')->where('email', (string) ($_POST['username'] ?? ''))->first();
        if ($row !== null && password_verify((string) ($_POST['password'] ?? ''), (string) $row->password)) {
            session_regenerate_id(true);
            $_SESSION = ['uid' => (int) $row->id];
            header('Location: clientarea.php', true, 302);
            exit;
        }
        header('Location: clientarea.php?incorrect=true', true, 302);
        exit;

    case '/logout.php':
        $_SESSION = [];
        header('Location: clientarea.php', true, 302);
        exit;

    case '/clientarea.php':
        if (empty($_SESSION['uid'])) {
            $error = isset($_GET['incorrect']) ? '<div class="alert alert-danger" id="login-error">Login Details Incorrect. Please try again.</div>' : '';
            shell('Login', $error . '<form method="post" action="dologin.php"><input name="username" id="inputEmail"><input type="password" name="password" id="inputPassword"><button type="submit" id="login">Login</button></form>');
            exit;
        }
        $uid = (int) $_SESSION['uid'];
        if (($_GET['action'] ?? '') !== 'productdetails') {
            $rows = '';
            foreach (Capsule::table('tblhosting')->where('userid', $uid)->get() as $s) {
                $rows .= '<li><a href="clientarea.php?action=productdetails&amp;id=' . (int) $s->id . '">' . htmlspecialchars((string) $s->domain) . '</a> (' . htmlspecialchars((string) $s->domainstatus) . ')</li>';
            }
            shell('My Products & Services', '<ul id="services">' . $rows . '</ul>');
            exit;
        }
        $service = Capsule::table('tblhosting')->where('id', (int) ($_GET['id'] ?? 0))->first();
        if ($service === null || (int) $service->userid !== $uid) {
            http_response_code(404);
            shell('Oops! Something went wrong!', '<div class="alert alert-danger" id="not-found">The page you are looking for was not found.</div>');
            exit;
        }
        require_once ROOTDIR . '/modules/servers/hostbridge/hostbridge.php';
        $params = moduleParams($state, $service);
        $alert = '';
        if (($_GET['modop'] ?? '') === 'custom') {
            $fn = preg_replace('/[^A-Za-z0-9_]/', '', (string) ($_GET['a'] ?? ''));
            $allowed = function_exists('hostbridge_ClientAreaAllowedFunctions') ? hostbridge_ClientAreaAllowedFunctions() : [];
            if (function_exists('hostbridge_ClientAreaCustomButtonArray')) {
                $allowed = array_merge($allowed, array_values(hostbridge_ClientAreaCustomButtonArray($params)));
            }
            if (!in_array($fn, $allowed, true) || !function_exists('hostbridge_' . $fn)) {
                $alert = '<div class="alert alert-danger" id="module-result">Invalid function</div>';
            } else {
                $result = call_user_func('hostbridge_' . $fn, $params);
                $alert = $result === 'success'
                    ? '<div class="alert alert-success" id="module-result">Action completed successfully</div>'
                    : '<div class="alert alert-danger" id="module-result">' . htmlspecialchars((string) $result, ENT_QUOTES, 'UTF-8') . '</div>';
            }
        }
        $out = hostbridge_ClientArea($params);
        $tpl = ROOTDIR . '/modules/servers/hostbridge/' . ($out['tabOverviewModuleOutputTemplate'] ?? '');
        $body = is_file($tpl) ? renderTpl($tpl, $out['templateVariables'] ?? []) : '';
        shell('Manage Product', '<p>Product: <strong id="product-domain">' . htmlspecialchars((string) $service->domain) . '</strong> · status <span id="product-status">' . htmlspecialchars((string) $service->domainstatus) . '</span></p>'
            . $alert . '<div id="module-output">' . $body . '</div>');
        exit;

    default:
        http_response_code(404);
        shell('Not Found', '<p>No such page in the stand-in.</p>');
}
