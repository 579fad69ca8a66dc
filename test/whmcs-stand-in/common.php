<?php
/**
 * What the WHMCS stand-ins (test/whmcs-admin/router.php, test/whmcs-client/router.php) share: the
 * module's environment (WHMCS and ROOTDIR defined, the PHP tests' stubs with the Capsule stand-in),
 * the session's CSRF token as generate_token() gives it, and the tables from the JSON file in
 * HOSTBRIDGE_WHMCS_STATE loaded into Capsule, with the session started under WHMCS's cookie name.
 * A router defines its own logModuleCall before it includes this file.
 */

define('WHMCS', true);
define('ROOTDIR', dirname(__DIR__, 2) . '/bridge-php');

require_once dirname(__DIR__, 2) . '/bridge-php/tests/whmcs-stubs.php';

/** WHMCS's CSRF token of the session ("plain": the value alone). */
function generate_token($type = 'form')
{
    if (empty($_SESSION['token'])) {
        $_SESSION['token'] = bin2hex(random_bytes(20));
    }
    return $type === 'plain' ? $_SESSION['token'] : '<input type="hidden" name="token" value="' . $_SESSION['token'] . '" />';
}

/** The state file's tables in Capsule, and the session (WHMCSADMIN or WHMCSClient); returns the state. */
function standInStart(string $sessionName): array
{
    $state = json_decode((string) @file_get_contents((string) getenv('HOSTBRIDGE_WHMCS_STATE')), true);
    if (!is_array($state)) {
        http_response_code(500);
        exit('HOSTBRIDGE_WHMCS_STATE does not name a readable JSON file');
    }
    \WHMCS\Database\Capsule::reset($state['tables'] ?? []);
    session_save_path((string) getenv('HOSTBRIDGE_WHMCS_SESSIONS'));
    session_name($sessionName);
    session_start();
    return $state;
}
