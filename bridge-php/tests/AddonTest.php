<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Database\Capsule;
use WHMCS\Module\Server\Hostbridge\DaemonClient;

if (!function_exists('generate_token')) {
    /** WHMCS's CSRF token of the admin session ("plain": the value alone); the tests set it. */
    function generate_token($type = 'form')
    {
        $t = (string) ($GLOBALS['hostbridge_test_token'] ?? '');
        return $type === 'plain' ? $t : '<input type="hidden" name="token" value="' . $t . '" />';
    }
}

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
        $_POST = [];
        $_SESSION = [];
        $_SERVER['REQUEST_METHOD'] = 'GET';
        $_SERVER['QUERY_STRING'] = '';
        $GLOBALS['hostbridge_test_token'] = 'whmcs-token-' . bin2hex(random_bytes(8));
        Capsule::reset();
    }

    /** WHMCS's tables for a logged-in admin: tbladmins, and the addon's Access Control (role ids). */
    private static function loginAdmin(int $id = 4, string $username = 'jane', int $roleid = 1, string $access = '1,2'): void
    {
        Capsule::reset([
            'tbladmins' => [
                ['id' => $id, 'username' => $username, 'roleid' => $roleid],
                ['id' => 99, 'username' => 'other', 'roleid' => 1],
            ],
            'tbladdonmodules' => [
                ['module' => 'hostbridge', 'setting' => 'version', 'value' => '0.1.0'],
                ['module' => 'hostbridge', 'setting' => 'access', 'value' => $access],
            ],
        ]);
        $_SESSION = ['adminid' => $id];
    }

    private static function vars(?string $url = null, ?string $secret = null): array
    {
        return ['daemon_url' => $url ?? self::env('HOSTBRIDGE_TEST_PROXY_URL'), 'shared_secret' => $secret ?? self::secret(), 'modulelink' => 'addonmodules.php?module=hostbridge', 'version' => '0.1.0', '_lang' => []];
    }

    /** The addon's requests the recording proxy saw since $count, decoded. */
    private static function pagesRequests(int $count): array
    {
        $out = [];
        foreach (array_slice(self::recorded(), $count) as $r) {
            self::assertSame('POST', $r['method']);
            self::assertSame('/v1/admin/pages', $r['path']);
            $r['sent'] = json_decode($r['body'], true);
            $r['answer'] = json_decode($r['response'], true);
            $out[] = $r;
        }
        return $out;
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

    public function testOutputShowsTheDaemonsPageAsTheWhmcsAdmin(): void
    {
        // The daemon is up and the secret is right: anything but its page (an error box included) is a failure.
        $secret = self::secret();
        $seed = self::seed();
        self::loginAdmin();
        $count = count(self::recorded());
        $html = self::output(self::vars());
        [$req] = self::pagesRequests($count);
        self::assertSame(200, $req['status'], "the daemon did not serve its page: {$req['response']}");
        // Signed as documented, for the admin WHMCS has in its session, with WHMCS's token for the page's forms.
        $h = $req['headers'];
        $expected = DaemonClient::signatureHeaders($secret, 'POST', '/v1/admin/pages', $req['body'], (int) $h['x-hostbridge-timestamp'], $h['x-hostbridge-nonce']);
        self::assertSame($expected['X-Hostbridge-Signature'], $h['x-hostbridge-signature']);
        self::assertSame(['id' => 4, 'username' => 'jane'], $req['sent']['admin']);
        self::assertSame(['GET', '', '', $GLOBALS['hostbridge_test_token'], 'addonmodules.php?module=hostbridge'], [$req['sent']['method'], $req['sent']['page'], $req['sent']['form'], $req['sent']['token'], $req['sent']['base']]);
        self::assertSame(200, $req['answer']['status']);
        self::assertSame('Services', $req['answer']['title']);
        self::assertStringNotContainsString('hostbridge-error', $html, 'an error box instead of the daemon\'s page');
        self::assertSame('<div class="hostbridge-admin">' . $req['answer']['html'] . '</div>', $html);
        // The Services page of the seeded data, embedded: no html/head of its own, links into the addon.
        self::assertStringContainsString('<div class="hostbridge-ui">', $html);
        self::assertStringNotContainsString('<html', $html);
        self::assertStringNotContainsString('href="/ui/', $html);
        self::assertStringContainsString('href="addonmodules.php?module=hostbridge&amp;page=tasks"', $html);
        foreach ($seed['services'] as $svc) {
            self::assertStringContainsString($svc['domain'], $html);
            self::assertStringContainsString("href=\"addonmodules.php?module=hostbridge&amp;page=services/{$svc['service_id']}\"", $html);
        }
        self::assertNoSecret($html, $secret);
    }

    public function testOutputPassesThePageAndItsQuery(): void
    {
        self::loginAdmin();
        $_GET = ['module' => 'hostbridge', 'page' => 'Services/501', 'tab' => 'tasks'];
        $_SERVER['QUERY_STRING'] = 'module=hostbridge&page=Services/501&tab=tasks';
        $count = count(self::recorded());
        $html = self::output(self::vars());
        [$req] = self::pagesRequests($count);
        self::assertSame(['services/501', 'module=hostbridge&page=Services/501&tab=tasks'], [$req['sent']['page'], $req['sent']['query']]);
        self::assertSame('Service 501', $req['answer']['title']);
        self::assertStringContainsString('alpha.test', $html);
        self::assertMatchesRegularExpression('~<a href="addonmodules.php\?module=hostbridge&amp;page=services/501&amp;tab=tasks" aria-current="page">Tasks~', $html);
        // A page the daemon does not have: its own "no such page", inside the addon.
        $_GET = ['page' => 'nosuchpage'];
        $html = self::output(self::vars());
        self::assertStringContainsString('There is no such page.', $html);
        self::assertStringStartsWith('<div class="hostbridge-admin">', $html);
        // Only a plain page name reaches the daemon.
        $count = count(self::recorded());
        $_GET = ['page' => '../../etc/passwd'];
        self::output(self::vars());
        self::assertSame('', self::pagesRequests($count)[0]['sent']['page']);
    }

    public function testAFormIsForwardedWithItsTokenAndTheAdminIsSentOn(): void
    {
        self::loginAdmin(5, 'sam');
        $token = $GLOBALS['hostbridge_test_token'];
        $_SERVER['REQUEST_METHOD'] = 'POST';
        $_GET = ['module' => 'hostbridge', 'page' => 'tasks/delete'];
        $_SERVER['QUERY_STRING'] = 'module=hostbridge&page=tasks/delete';
        // Nothing ticked: the daemon's own check refuses it, and says so on the next page.
        $_POST = ['token' => $token, 'back' => '/ui/admin/tasks'];
        $count = count(self::recorded());
        $html = self::output(self::vars());
        [$req] = self::pagesRequests($count);
        self::assertSame(['POST', 'tasks/delete', 'token=' . $token . '&back=%2Fui%2Fadmin%2Ftasks'], [$req['sent']['method'], $req['sent']['page'], $req['sent']['form']]);
        self::assertSame(['id' => 5, 'username' => 'sam'], $req['sent']['admin']);
        self::assertSame(303, $req['answer']['status']);
        self::assertSame('addonmodules.php?module=hostbridge&page=tasks', $req['answer']['location']);
        self::assertSame('<p class="hostbridge-redirect"><a href="addonmodules.php?module=hostbridge&amp;page=tasks">Continue</a></p>', $html);
        // The page after it shows the daemon's answer to this admin.
        $_SERVER['REQUEST_METHOD'] = 'GET';
        $_POST = [];
        $_GET = ['page' => 'tasks'];
        $html = self::output(self::vars());
        self::assertStringContainsString('Tick at least one of succeeded, failed, cancelled; nothing was deleted.', $html);
        // The page's forms carry WHMCS's token, never a daemon session's.
        self::assertStringContainsString('<input type="hidden" name="token" value="' . $token . '">', $html);
        self::assertStringNotContainsString('_csrf', $html);
    }

    public function testAFormWithoutWhmcsTokenIsNotForwarded(): void
    {
        self::loginAdmin();
        $_SERVER['REQUEST_METHOD'] = 'POST';
        $_GET = ['page' => 'settings'];
        foreach ([[], ['token' => 'guessed'], ['token' => ['x']]] as $post) {
            $_POST = $post + ['retry.max_attempts' => '9'];
            $count = count(self::recorded());
            $html = self::output(self::vars());
            self::assertCount($count, self::recorded(), 'nothing reached the daemon');
            self::assertStringStartsWith('<div class="alert alert-danger hostbridge-error" role="alert">', $html);
            self::assertStringContainsString('security token', $html);
        }
    }

    public function testNothingIsFetchedWithoutAnAdminWhoseRoleHasAccess(): void
    {
        $cases = [
            'no admin session' => [function () {
                self::loginAdmin();
                $_SESSION = [];
            }, '/no WHMCS admin is logged in/'],
            'admin unknown' => [function () {
                self::loginAdmin();
                $_SESSION = ['adminid' => 1234];
            }, '/not known in tbladmins/'],
            'role without access' => [fn () => self::loginAdmin(4, 'bob', 3, '1,2'), '/role has no access to the hostbridge addon \(Configuration › System Settings › Addon Modules › hostbridge › Configure › Access Control\)/u'],
            'no role has access' => [fn () => self::loginAdmin(4, 'bob', 1, ''), '/role has no access/'],
        ];
        foreach ($cases as $label => [$arrange, $pattern]) {
            $arrange();
            $count = count(self::recorded());
            $html = self::output(self::vars());
            self::assertCount($count, self::recorded(), "{$label}: nothing reached the daemon");
            self::assertStringStartsWith('<div class="alert alert-danger hostbridge-error" role="alert">', $html, $label);
            self::assertMatchesRegularExpression($pattern, $html, $label);
            self::assertStringNotContainsString('hostbridge-ui', $html);
        }
    }

    public function testOutputErrorsAreReadableBoxes(): void
    {
        $wrong = self::wrongSecret();
        $port = self::closedPortNumber();
        self::loginAdmin();
        $cases = [
            'wrong secret' => [['daemon_url' => self::env('HOSTBRIDGE_TEST_DAEMON_URL'), 'shared_secret' => $wrong], '/signature/'],
            'unreachable' => [['daemon_url' => "http://127.0.0.1:{$port}", 'shared_secret' => 'some-secret-value'], "~cannot reach the hostbridge daemon at http://127.0.0.1:{$port}~"],
            'no settings' => [[], '/no daemon URL/'],
            'no secret' => [['daemon_url' => 'http://127.0.0.1:8740'], '/no shared secret/'],
            'not the daemon' => [['daemon_url' => self::env('HOSTBRIDGE_TEST_HTML_URL'), 'shared_secret' => 'some-secret-value'], '/not the hostbridge daemon/'],
        ];
        foreach ($cases as $label => [$vars, $pattern]) {
            $html = self::output($vars);
            self::assertStringStartsWith('<div class="alert alert-danger hostbridge-error" role="alert">', $html, $label);
            self::assertMatchesRegularExpression($pattern, $html, $label);
            self::assertNoSecret($html, $wrong, 'some-secret-value', self::secret());
        }
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
