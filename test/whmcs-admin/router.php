<?php
/**
 * A WHMCS admin area stand-in for `php -S` (router script), doing for addonmodules.php what WHMCS
 * does, from WHMCS's developer documentation:
 *  - login.php: an admin logs in (tbladmins: username, password hash, roleid); the session holds
 *    $_SESSION['adminid'], as WHMCS's does;
 *  - addonmodules.php?module=hostbridge: no session → the login page; an addon that is not active
 *    → an error; an admin whose role is not in the addon's Access Control (tbladdonmodules,
 *    setting "access": the ticked role ids, comma-separated) → "Access Denied", and the module is
 *    never called; else hostbridge_output($vars) with $vars = the addon's settings plus modulelink
 *    (addonmodules.php?module=hostbridge) and _lang, its echoed output captured and put inside the
 *    admin page shell. POSTs reach the module as they are ($_POST and php://input);
 *  - clientsservices.php?id=N: a service's page, with the server module's
 *    hostbridge_AdminServicesTabFields($params) as its module tab;
 *  - generate_token('plain'): the admin session's CSRF token, as WHMCS gives it to forms.
 * The tables come from the JSON file in HOSTBRIDGE_WHMCS_STATE (rows per table, and the hostbridge
 * server record's params), loaded into the Capsule stand-in of the PHP tests on every request.
 */

function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
{
    // WHMCS writes tblmodulelog; the stand-in keeps nothing.
}

require_once dirname(__DIR__) . '/whmcs-stand-in/common.php';

use WHMCS\Database\Capsule;

$state = standInStart('WHMCSADMIN');

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);

/** The admin area's page shell around some content (WHMCS's template, much reduced). */
function shell(string $title, string $content): void
{
    $admin = isset($_SESSION['adminid']) ? Capsule::table('tbladmins')->where('id', (int) $_SESSION['adminid'])->first(['username']) : null;
    header('Content-Type: text/html; charset=utf-8');
    echo '<!doctype html><html><head><meta charset="utf-8"><title>' . htmlspecialchars($title) . ' - WHMCS</title>'
        . '<style>body{margin:0;background:rgb(240,240,233);font:13px/1.4 Georgia,serif;color:rgb(51,51,51)}'
        . '#whmcs-header{background:rgb(30,60,90);color:#fff;padding:8px}#whmcs-header a{color:rgb(255,255,0)}'
        . 'table.whmcs-table td{border-bottom:0;padding:2px}h1.whmcs-title{font-size:30px}</style></head><body>'
        . '<div id="whmcs-header">WHMCS Admin · ' . ($admin ? 'logged in as <span id="whmcs-admin">' . htmlspecialchars($admin->username) . '</span> · <a href="logout.php">Logout</a>' : 'not logged in')
        . ' · <a href="addonmodules.php?module=hostbridge">Addons › hostbridge</a></div>'
        . '<h1 class="whmcs-title">' . htmlspecialchars($title) . '</h1>'
        . '<div id="contentarea">' . $content . '</div>'
        . '<table class="whmcs-table" id="whmcs-footer-table"><tr><td>WHMCS footer</td></tr></table></body></html>';
}

function addonSettings(string $module): array
{
    $vars = [];
    foreach (Capsule::table('tbladdonmodules')->where('module', $module)->get(['setting', 'value']) as $row) {
        $vars[(string) $row->setting] = (string) $row->value;
    }
    return $vars;
}

switch ($path) {
    case '/login.php':
        $error = '';
        if (($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST') {
            $row = Capsule::table('tbladmins')->where('username', (string) ($_POST['username'] ?? ''))->first();
            if ($row !== null && password_verify((string) ($_POST['password'] ?? ''), (string) $row->password)) {
                session_regenerate_id(true);
                $_SESSION = ['adminid' => (int) $row->id];
                header('Location: addonmodules.php?module=hostbridge', true, 302);
                exit;
            }
            $error = '<p id="login-error">Login Details Incorrect</p>';
        }
        shell('Admin Login', $error . '<form method="post" action="login.php"><input name="username" id="username"><input type="password" name="password" id="password"><button type="submit" id="login">Login</button></form>');
        exit;

    case '/logout.php':
        $_SESSION = [];
        header('Location: login.php', true, 302);
        exit;

    case '/addonmodules.php':
        if (empty($_SESSION['adminid'])) {
            header('Location: login.php', true, 302);
            exit;
        }
        $module = preg_replace('/[^a-z0-9_]/', '', strtolower((string) ($_GET['module'] ?? '')));
        $vars = addonSettings($module);
        if (!isset($vars['version'])) {
            shell('Addon Modules', '<p class="errorbox">Invalid Module Name</p>');
            exit;
        }
        $admin = Capsule::table('tbladmins')->where('id', (int) $_SESSION['adminid'])->first(['roleid']);
        $allowed = array_filter(array_map('trim', explode(',', (string) ($vars['access'] ?? ''))), 'strlen');
        if ($admin === null || !in_array((string) $admin->roleid, $allowed, true)) {
            shell('Access Denied', '<p class="errorbox" id="access-denied">You do not have permission to access this page. Please contact the system administrator.</p>');
            exit;
        }
        require_once ROOTDIR . "/modules/addons/{$module}/{$module}.php";
        $vars['modulelink'] = "addonmodules.php?module={$module}";
        $vars['_lang'] = [];
        ob_start();
        call_user_func("{$module}_output", $vars);
        $content = (string) ob_get_clean();
        shell('hostbridge', $content);
        exit;

    case '/clientsservices.php':
        if (empty($_SESSION['adminid'])) {
            header('Location: login.php', true, 302);
            exit;
        }
        require_once ROOTDIR . '/modules/servers/hostbridge/hostbridge.php';
        $id = (int) ($_GET['id'] ?? 0);
        $fields = hostbridge_AdminServicesTabFields(($state['server_params'] ?? []) + ['serviceid' => $id]);
        $rows = '';
        foreach ($fields as $label => $html) {
            $rows .= '<tr><td class="fieldlabel">' . htmlspecialchars($label) . '</td><td class="fieldarea" id="module-tab">' . $html . '</td></tr>';
        }
        shell('Products/Services', '<table class="form">' . $rows . '</table>');
        exit;

    default:
        http_response_code(404);
        shell('Not Found', '<p>No such page in the stand-in.</p>');
}
