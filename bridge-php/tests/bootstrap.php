<?php
/**
 * PHPUnit bootstrap: stands in for WHMCS. It defines only what WHMCS itself provides to modules
 * (the WHMCS constant, logModuleCall here, the rest in whmcs-stubs.php), then loads the modules the
 * way WHMCS does: the server module and the addon module into one process, and the addon's hooks.php
 * (WHMCS includes every active module's hooks on each page load, cron included).
 */

define('WHMCS', true);

/** Every logModuleCall() of the module, in order, for the tests to inspect. */
$GLOBALS['hostbridge_test_module_log'] = [];

/**
 * WHMCS's Module Log writer (signature as documented). The stub records the raw arguments:
 * the real one masks the strings of $replaceVars before writing tblmodulelog.
 */
function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
{
    $GLOBALS['hostbridge_test_module_log'][] = [
        'module' => $module,
        'action' => $action,
        'request' => $requestString,
        'response' => $responseData,
        'processed' => $processedData,
        'replaceVars' => $replaceVars,
    ];
}

require_once __DIR__ . '/whmcs-stubs.php';
require_once __DIR__ . '/DaemonEnv.php';

require_once __DIR__ . '/../modules/servers/hostbridge/hostbridge.php';
require_once __DIR__ . '/../modules/addons/hostbridge/hostbridge.php';
require_once __DIR__ . '/../modules/addons/hostbridge/hooks.php';
