<?php
/**
 * PHPUnit bootstrap: stands in for WHMCS. It defines only what WHMCS itself provides to a server
 * module (the WHMCS constant and logModuleCall), then loads the module the way WHMCS does.
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

require_once __DIR__ . '/../modules/servers/hostbridge/hostbridge.php';
