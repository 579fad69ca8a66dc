<?php
/**
 * Runs one function of the WHMCS server module the way WHMCS does, for the end-to-end tests:
 *   php test/e2e/module.php <Function> < params.json
 * Prints {"result": <what the function returned>} as JSON. WHMCS defines the WHMCS constant and
 * logModuleCall before it includes a module; nothing else of WHMCS is needed by the calls used here.
 */
define('WHMCS', true);

function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
{
    // WHMCS writes tblmodulelog; the tests read the daemon and the nodes instead.
}

require_once __DIR__ . '/../../bridge-php/modules/servers/hostbridge/hostbridge.php';

$fn = $argv[1] ?? '';
if (!preg_match('/^[A-Za-z]+$/', $fn) || !function_exists('hostbridge_' . $fn)) {
    fwrite(STDERR, "unknown module function: $fn\n");
    exit(2);
}
$params = json_decode((string) stream_get_contents(STDIN), true);
if (!is_array($params)) {
    fwrite(STDERR, "stdin must be a JSON object of module parameters\n");
    exit(2);
}
$result = call_user_func('hostbridge_' . $fn, $params);
echo json_encode(['result' => $result], JSON_UNESCAPED_SLASHES), "\n";
