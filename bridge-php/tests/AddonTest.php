<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Database\Capsule;
use WHMCS\Module\Server\Hostbridge\DaemonClient;

/**
 * The addon module (config, activate, deactivate, output) and its AfterCronJob hook, loaded by the
 * bootstrap as WHMCS loads them. HOSTBRIDGE_TEST_PROXY_URL is a pass-through proxy in front of the
 * daemon that records each request and the daemon's answer (GET /__recorded).
 */
final class AddonTest extends TestCase
{
    use DaemonEnv;

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_activity'] = [];
        $GLOBALS['hostbridge_test_module_log'] = [];
        $_GET = [];
        Capsule::reset();
    }

    /** The settings as tbladdonmodules holds them after "Configure" in WHMCS. */
    private static function storeSettings(string $url, string $secret, string $tick = 'on'): void
    {
        Capsule::reset(['tbladdonmodules' => [
            ['module' => 'hostbridge', 'setting' => 'version', 'value' => '0.1.0'],
            ['module' => 'hostbridge', 'setting' => 'access', 'value' => '1'],
            ['module' => 'hostbridge', 'setting' => 'daemon_url', 'value' => $url],
            ['module' => 'hostbridge', 'setting' => 'shared_secret', 'value' => $secret],
            ['module' => 'hostbridge', 'setting' => 'tick_on_cron', 'value' => $tick],
            // Another addon's settings of the same names must not be read.
            ['module' => 'otheraddon', 'setting' => 'daemon_url', 'value' => 'http://127.0.0.1:1'],
        ]]);
    }

    /** What the recording proxy has seen so far. */
    private static function recorded(): array
    {
        $raw = file_get_contents(self::env('HOSTBRIDGE_TEST_PROXY_URL') . '/__recorded');
        self::assertIsString($raw);
        $list = json_decode($raw, true);
        self::assertIsArray($list);
        return $list;
    }

    private static function output(array $vars): string
    {
        ob_start();
        try {
            $r = hostbridge_output($vars);
        } finally {
            $html = (string) ob_get_clean();
        }
        self::assertNull($r);
        return $html;
    }

    public function testConfig(): void
    {
        $c = hostbridge_config();
        foreach (['name', 'description', 'author', 'version'] as $k) {
            self::assertIsString($c[$k]);
            self::assertNotSame('', $c[$k], $k);
        }
        self::assertSame(['daemon_url', 'shared_secret', 'tick_on_cron'], array_keys($c['fields']));
        self::assertSame(['text', 'password', 'yesno'], array_column(array_values($c['fields']), 'Type'));
        foreach ($c['fields'] as $f) {
            self::assertNotSame('', $f['FriendlyName']);
        }
    }

    public function testActivateAndDeactivateCreateNothingInWhmcs(): void
    {
        self::storeSettings('http://127.0.0.1:1', 'abcdefgh');
        $before = [Capsule::rows('tbladdonmodules'), Capsule::rows('tblhosting')];
        foreach (['hostbridge_activate', 'hostbridge_deactivate'] as $fn) {
            $r = $fn();
            self::assertSame(['status', 'description'], array_keys($r), $fn);
            self::assertSame('success', $r['status'], $fn);
            self::assertNotSame('', $r['description']);
        }
        self::assertSame($before, [Capsule::rows('tbladdonmodules'), Capsule::rows('tblhosting')]);
        self::assertSame([], $GLOBALS['hostbridge_test_activity']);
    }

    public function testOutputShowsTheDaemonsPage(): void
    {
        // The daemon is up and the secret is right: anything but its page (an error box included) is a failure.
        $secret = self::secret();
        $seed = self::seed();
        $_GET['page'] = 'Overview';
        $html = self::output(['daemon_url' => self::env('HOSTBRIDGE_TEST_PROXY_URL'), 'shared_secret' => $secret, 'modulelink' => 'addonmodules.php?module=hostbridge']);
        $seen = self::recorded();
        $last = end($seen);
        self::assertSame('GET', $last['method']);
        self::assertSame('/v1/admin/view?page=overview', $last['path']);
        self::assertSame(200, $last['status'], "the daemon did not serve its overview: {$last['response']}");
        self::assertStringNotContainsString('hostbridge-error', $html, 'an error box instead of the daemon\'s page');
        $answer = json_decode($last['response'], true);
        self::assertIsArray($answer, $last['response']);
        self::assertTrue($answer['ok'] ?? null);
        self::assertIsString($answer['html'] ?? null);
        // The daemon's page, untouched, in the addon's wrapper, and it is the overview of the seeded data.
        self::assertSame('<div class="hostbridge-admin">' . $answer['html'] . '</div>', $html);
        self::assertStringContainsString('hostbridge-admin-overview', $html);
        foreach (['fra-web1', 'fra-mail1'] as $server) {
            self::assertStringContainsString("<td>{$server}</td>", $html);
        }
        foreach (array_count_values(array_column($seed['services'], 'state')) as $state => $n) {
            self::assertStringContainsString("<tr><td>{$state}</td><td>{$n}</td></tr>", $html);
        }
        self::assertNoSecret($html, $secret);
    }

    public function testOutputShowsTheDaemonsRefusalInAReadableBox(): void
    {
        // A page the daemon does not serve: its 404 and message reach the admin, with a hint.
        $_GET['page'] = 'nosuchpage';
        $html = self::output(['daemon_url' => self::env('HOSTBRIDGE_TEST_PROXY_URL'), 'shared_secret' => self::secret()]);
        $seen = self::recorded();
        $last = end($seen);
        self::assertSame('/v1/admin/view?page=nosuchpage', $last['path']);
        self::assertSame(404, $last['status'], $last['response']);
        $answer = json_decode($last['response'], true);
        self::assertIsArray($answer, $last['response']);
        self::assertStringStartsWith('<div class="alert alert-danger hostbridge-error" role="alert">', $html);
        self::assertStringContainsString(htmlspecialchars((string) $answer['error'], ENT_QUOTES, 'UTF-8'), $html);
        self::assertStringContainsString('HTTP 404', $html);
        self::assertStringContainsString('The daemon does not serve this page', $html);
        self::assertNoSecret($html, self::secret());
    }

    public function testOutputErrorsAreReadableBoxes(): void
    {
        $wrong = self::wrongSecret();
        $port = self::closedPortNumber();
        $cases = [
            'wrong secret' => [['daemon_url' => self::env('HOSTBRIDGE_TEST_DAEMON_URL'), 'shared_secret' => $wrong], '/signature/'],
            'unreachable' => [['daemon_url' => "http://127.0.0.1:{$port}", 'shared_secret' => 'some-secret-value'], "~cannot reach the hostbridge daemon at http://127.0.0.1:{$port}~"],
            'no settings' => [[], '/no daemon URL/'],
            'no secret' => [['daemon_url' => 'http://127.0.0.1:8740'], '/no shared secret/'],
        ];
        foreach ($cases as $label => [$vars, $pattern]) {
            $html = self::output($vars);
            self::assertStringStartsWith('<div class="alert alert-danger hostbridge-error" role="alert">', $html, $label);
            self::assertMatchesRegularExpression($pattern, $html, $label);
            self::assertNoSecret($html, $wrong, 'some-secret-value', self::secret());
        }
        // Only a plain page name reaches the daemon.
        $_GET['page'] = '../../etc/passwd';
        self::output(['daemon_url' => self::env('HOSTBRIDGE_TEST_PROXY_URL'), 'shared_secret' => self::secret()]);
        $seen = self::recorded();
        self::assertSame('/v1/admin/view?page=overview', end($seen)['path']);
    }

    public function testTheHookIsRegisteredForAfterCronJob(): void
    {
        $hooks = $GLOBALS['hostbridge_test_hooks']['AfterCronJob'] ?? [];
        self::assertCount(1, $hooks);
        self::assertSame(1, $hooks[0][0]);
        self::assertIsCallable($hooks[0][1]);
    }

    public function testAfterCronJobPostsASignedTick(): void
    {
        $secret = self::secret();
        self::storeSettings(self::env('HOSTBRIDGE_TEST_PROXY_URL'), $secret);
        $count = count(self::recorded());
        hostbridge_test_run_hook('AfterCronJob', []);
        self::assertSame([], $GLOBALS['hostbridge_test_activity'], 'a good tick is not logged');
        $seen = array_slice(self::recorded(), $count);
        self::assertCount(1, $seen);
        $tick = $seen[0];
        self::assertSame('POST', $tick['method']);
        self::assertSame('/v1/tick', $tick['path']);
        self::assertSame(200, $tick['status'], $tick['response']);
        $answer = json_decode($tick['response'], true);
        self::assertTrue($answer['ok']);
        self::assertIsArray($answer['jobs']);
        // The signature is the documented one, keyed with the secret, and the secret itself is not sent.
        $h = $tick['headers'];
        $expected = DaemonClient::signatureHeaders($secret, 'POST', '/v1/tick', $tick['body'], (int) $h['x-hostbridge-timestamp'], $h['x-hostbridge-nonce']);
        self::assertSame($expected['X-Hostbridge-Signature'], $h['x-hostbridge-signature']);
        self::assertEqualsWithDelta(time(), (int) $h['x-hostbridge-timestamp'], 60);
        self::assertNoSecret($tick, $secret);
    }

    public function testAfterCronJobDoesNothingWhenTheTickIsOff(): void
    {
        self::storeSettings(self::env('HOSTBRIDGE_TEST_PROXY_URL'), self::secret(), '');
        $count = count(self::recorded());
        hostbridge_test_run_hook('AfterCronJob', []);
        Capsule::reset();
        hostbridge_test_run_hook('AfterCronJob', []); // addon never configured
        self::assertCount($count, self::recorded());
        self::assertSame([], $GLOBALS['hostbridge_test_activity']);
    }

    public function testAfterCronJobFailuresAreLoggedNeverThrown(): void
    {
        $wrong = self::wrongSecret();
        $port = self::closedPortNumber();
        $cases = [
            'wrong secret' => [fn () => self::storeSettings(self::env('HOSTBRIDGE_TEST_DAEMON_URL'), $wrong), '/signature.*HOSTBRIDGE_SECRET/'],
            'unreachable' => [fn () => self::storeSettings("http://127.0.0.1:{$port}", 'some-secret-value'), '/cannot reach the hostbridge daemon/'],
            'not the daemon' => [fn () => self::storeSettings(self::env('HOSTBRIDGE_TEST_HTML_URL'), 'some-secret-value'), '/not the hostbridge daemon/'],
            'no url' => [fn () => self::storeSettings('', 'some-secret-value'), '/no daemon URL/'],
            'database down' => [function () {
                self::storeSettings(self::env('HOSTBRIDGE_TEST_DAEMON_URL'), self::secret());
                Capsule::$failure = new \RuntimeException('SQLSTATE[HY000] [2002] Connection refused');
            }, '/Connection refused/'],
        ];
        foreach ($cases as $label => [$arrange, $pattern]) {
            $GLOBALS['hostbridge_test_activity'] = [];
            $arrange();
            $t0 = microtime(true);
            hostbridge_test_run_hook('AfterCronJob', []);
            self::assertLessThan(4.0, microtime(true) - $t0, $label);
            self::assertCount(1, $GLOBALS['hostbridge_test_activity'], $label);
            $message = $GLOBALS['hostbridge_test_activity'][0];
            self::assertStringStartsWith('hostbridge: the WHMCS cron could not tick the daemon: ', $message, $label);
            self::assertMatchesRegularExpression($pattern, $message, $label);
            self::assertNoSecret($message, $wrong, 'some-secret-value', self::secret());
        }
    }

    public function testAfterCronJobGivesUpOnASilentDaemonWithinTenSeconds(): void
    {
        self::storeSettings(self::env('HOSTBRIDGE_TEST_SILENT_URL'), 'some-secret-value');
        $t0 = microtime(true);
        hostbridge_test_run_hook('AfterCronJob', []);
        $elapsed = microtime(true) - $t0;
        self::assertLessThan(10.0, $elapsed, 'the WHMCS cron must not wait for the daemon');
        self::assertGreaterThan(7.0, $elapsed);
        self::assertCount(1, $GLOBALS['hostbridge_test_activity']);
        self::assertStringContainsString('did not answer within 8 s', $GLOBALS['hostbridge_test_activity'][0]);
    }
}
