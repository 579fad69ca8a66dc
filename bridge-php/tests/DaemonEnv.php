<?php
/**
 * What the tests share: the HOSTBRIDGE_TEST_* variables set by test/php/bridge.test.ts (a running
 * daemon, its secret, the data it was seeded with, a recording proxy in front of it) and the $params
 * of a WHMCS server record pointing at it. A missing variable fails the test; none is skipped.
 */
trait DaemonEnv
{
    private static function env(string $name): string
    {
        $v = getenv($name);
        if ($v === false || trim($v) === '') {
            self::fail("{$name} is not set: these tests need a running hostbridge daemon "
                . '(run them through test/php/bridge.test.ts, which sets the HOSTBRIDGE_TEST_* variables)');
        }
        return trim($v);
    }

    private static function secret(): string
    {
        return self::env('HOSTBRIDGE_TEST_SECRET');
    }

    /** The data the daemon was seeded with (groups, services, usage). */
    private static function seed(): array
    {
        $error = getenv('HOSTBRIDGE_TEST_SEED_ERROR');
        if (is_string($error) && $error !== '') {
            self::fail('bridge.test.ts could not seed the daemon\'s database: ' . $error);
        }
        $seed = json_decode(self::env('HOSTBRIDGE_TEST_SEED'), true);
        self::assertIsArray($seed, 'HOSTBRIDGE_TEST_SEED is not JSON');
        return $seed;
    }

    /** The server* params of a WHMCS server record pointing at $url (default: the test daemon). */
    private static function serverParamsFor(?string $url = null, ?string $secret = null): array
    {
        $u = parse_url($url ?? self::env('HOSTBRIDGE_TEST_DAEMON_URL'));
        if (!is_array($u) || !isset($u['host'])) {
            self::fail('not a URL: ' . ($url ?? getenv('HOSTBRIDGE_TEST_DAEMON_URL')));
        }
        $secure = ($u['scheme'] ?? 'http') === 'https';
        return [
            'serverid' => 1,
            'serverhostname' => $u['host'],
            'serverip' => '',
            'serverport' => (string) ($u['port'] ?? ($secure ? 443 : 80)),
            'serversecure' => $secure ? 'on' : '',
            'serverusername' => '',
            'serverpassword' => $secret ?? self::secret(),
            'serveraccesshash' => '',
        ];
    }

    /** A port on 127.0.0.1 nothing listens on. */
    private static function closedPortNumber(): int
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        self::assertNotFalse($server, "cannot open a socket: {$errstr}");
        $name = stream_socket_get_name($server, false);
        fclose($server);
        return (int) substr((string) strrchr((string) $name, ':'), 1);
    }

    private static function wrongSecret(): string
    {
        return 'wrong-secret-' . bin2hex(random_bytes(12));
    }

    /** The Module Log entries of one action. */
    private static function moduleLog(string $action): array
    {
        return array_values(array_filter($GLOBALS['hostbridge_test_module_log'], static fn ($e) => $e['action'] === $action));
    }

    /** The decoded JSON the daemon answered, as logged by the module for its last $action call. */
    private static function lastDaemonAnswer(string $action): array
    {
        $entries = self::moduleLog($action);
        self::assertNotEmpty($entries, "logModuleCall was not called for {$action}");
        $data = json_decode((string) end($entries)['response'], true);
        self::assertIsArray($data, "the logged answer of {$action} is not JSON");
        return $data;
    }

    /** Module Log entries without their replaceVars (the mask list, which holds the secrets by design). */
    private static function logged(array $entries): array
    {
        return array_map(static fn ($e) => array_diff_key($e, ['replaceVars' => true]), $entries);
    }

    /** Fails when a secret shows anywhere in $value (any depth, any type). */
    private static function assertNoSecret($value, string ...$secrets): void
    {
        $text = is_string($value) ? $value : var_export($value, true);
        foreach ($secrets as $s) {
            // Not assertStringNotContainsString: its failure message would print the secret.
            self::assertFalse(str_contains($text, $s), 'a secret leaked into: ' . str_replace($s, '[SECRET]', substr($text, 0, 2000)));
        }
    }
}
