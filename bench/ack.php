<?php
/**
 * bench:ack, the PHP side: loads the server module the way WHMCS does (the WHMCS constant and a
 * Module Log that is switched off, as it is by default), then calls hostbridge_CreateAccount for
 * service ids FIRST..FIRST+COUNT-1 and prints one JSON line: every call's time in milliseconds.
 * Usage: php bench/ack.php <daemon-url> <group-id> <first-service-id> <count>   (secret on stdin)
 */
define('WHMCS', true);

function logModuleCall($module, $action, $request, $response, $processed = '', $replace = [])
{
    // The Module Log is off by default in WHMCS; the module still builds its masked record.
}

require __DIR__ . '/../bridge-php/modules/servers/hostbridge/hostbridge.php';

[$url, $group, $first, $count] = [$argv[1], (int) $argv[2], (int) $argv[3], (int) $argv[4]];
$secret = trim((string) fgets(STDIN));
$u = parse_url($url);
$times = [];
for ($i = 0; $i < $count; $i++) {
    $sid = $first + $i;
    $params = [
        'serviceid' => $sid, 'userid' => 7, 'pid' => 3, 'domain' => "ack{$sid}.example.com", 'username' => "ack{$sid}",
        'password' => 'Bench-Pa55word!', 'serverhostname' => $u['host'], 'serverport' => $u['port'], 'serverpassword' => $secret,
        'serversecure' => '', 'configoption1' => 'split', 'configoption2' => (string) $group, 'configoption3' => 'on',
        'configoption4' => 'on', 'configoption5' => 'on', 'configoption6' => '2048', 'configoption7' => '1024',
        'configoptions' => [], 'customfields' => [], 'clientsdetails' => ['email' => 'owner@example.com'],
    ];
    $t0 = hrtime(true);
    $r = hostbridge_CreateAccount($params);
    $times[] = (hrtime(true) - $t0) / 1e6;
    if ($r !== 'success') {
        fwrite(STDERR, "CreateAccount for service {$sid} answered: {$r}\n");
        exit(1);
    }
}
echo json_encode($times), "\n";
