<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Addon\Hostbridge\Addon;
use WHMCS\Module\Server\Hostbridge\DaemonClient;
use WHMCS\Module\Server\Hostbridge\DaemonError;

/**
 * Versions that match, from the module's side, against a real daemon: every request names the
 * module's version; TestConnection shows both; a module of another line, or one that sends no
 * version, is refused with the daemon's message naming which versions go together. The server
 * module and the addon share the client, so both send it.
 */
final class VersionTest extends TestCase
{
    use DaemonEnv;

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        \WHMCS\Database\Capsule::reset();
    }

    private static function daemonVersion(): string
    {
        $raw = file_get_contents(self::env('HOSTBRIDGE_TEST_DAEMON_URL') . '/healthz');
        self::assertIsString($raw, 'GET /healthz answered nothing');
        $health = json_decode($raw, true);
        self::assertIsString($health['version'] ?? null, "healthz without a version: {$raw}");
        return $health['version'];
    }

    /** A version of another line than $v: the next minor for 0.x, the next major otherwise. */
    private static function otherLine(string $v): string
    {
        [$major, $minor] = array_map('intval', explode('.', $v));
        return $major === 0 ? '0.' . ($minor + 1) . '.0' : ($major + 1) . '.0.0';
    }

    public function testTheModuleVersionIsTheReleaseVersion(): void
    {
        $package = json_decode((string) file_get_contents(__DIR__ . '/../../package.json'), true);
        self::assertSame($package['version'], DaemonClient::MODULE_VERSION, 'bump DaemonClient::MODULE_VERSION with package.json');
        self::assertSame(self::daemonVersion(), DaemonClient::MODULE_VERSION, 'the test daemon is of this release');
        self::assertSame(DaemonClient::MODULE_VERSION, hostbridge_config()['version'], 'the addon is of the same release as the server module');
    }

    public function testTheRuleIsSameMajorAndForZeroXSameMinor(): void
    {
        self::assertTrue(DaemonClient::versionsCompatible('1.2.0', '1.9.3'));
        self::assertFalse(DaemonClient::versionsCompatible('1.2.0', '2.0.0'));
        self::assertTrue(DaemonClient::versionsCompatible('0.3.0', '0.3.7'));
        self::assertFalse(DaemonClient::versionsCompatible('0.3.0', '0.4.0'));
        self::assertTrue(DaemonClient::versionsCompatible('0.3.0-rc.1', '0.3.2'));
        self::assertFalse(DaemonClient::versionsCompatible('', '0.1.0'));
        self::assertFalse(DaemonClient::versionsCompatible('0.1', '0.1.0'));
        self::assertSame('0.3.x', DaemonClient::compatibleLine('0.3.5'));
        self::assertSame('2.x', DaemonClient::compatibleLine('2.7.1'));
    }

    public function testTestConnectionShowsBothVersions(): void
    {
        $r = hostbridge_TestConnection(self::serverParamsFor());
        $daemon = self::daemonVersion();
        self::assertTrue($r['success'], (string) ($r['error'] ?? ''));
        self::assertSame('', $r['error']);
        self::assertSame('hostbridge daemon ' . $daemon . ', WHMCS module ' . DaemonClient::MODULE_VERSION, $r['versions']);
    }

    /** The requests the recording proxy forwarded to the daemon (bridge.test.ts starts it). */
    private static function recorded(): array
    {
        $list = json_decode((string) file_get_contents(self::env('HOSTBRIDGE_TEST_PROXY_URL') . '/__recorded'), true);
        self::assertIsArray($list);
        return $list;
    }

    public function testEveryRequestCarriesTheModuleVersion(): void
    {
        $before = count(self::recorded());
        $r = hostbridge_TestConnection(self::serverParamsFor(self::env('HOSTBRIDGE_TEST_PROXY_URL')));
        self::assertTrue($r['success'], (string) ($r['error'] ?? ''));
        $sent = array_slice(self::recorded(), $before);
        self::assertCount(1, $sent);
        self::assertSame('/v1/status', $sent[0]['path']);
        self::assertSame(DaemonClient::MODULE_VERSION, $sent[0]['headers']['x-hostbridge-module-version'] ?? null);
        self::assertSame(200, $sent[0]['status']);
    }

    public function testAModuleOfAnotherLineIsRefusedWithTheVersionsThatGoTogether(): void
    {
        $daemon = self::daemonVersion();
        $other = self::otherLine($daemon);
        $client = new DaemonClient(self::env('HOSTBRIDGE_TEST_DAEMON_URL'), self::secret(), 3, 10, $other);
        try {
            $client->request('GET', '/v1/status');
            self::fail("a module {$other} was let through by a daemon {$daemon}");
        } catch (DaemonError $e) {
            self::assertSame(409, $e->status);
            $m = $e->getMessage();
            self::assertStringContainsString("the WHMCS module {$other} does not go with hostbridge daemon {$daemon}", $m);
            self::assertStringContainsString('works with the module ' . DaemonClient::compatibleLine($daemon), $m);
            self::assertStringNotContainsString(self::secret(), $m);
        }
        // The same through a lifecycle call: nothing is written for it.
        try {
            $client->request('POST', '/v1/services/999001/suspend', ['reason' => 'x']);
            self::fail('a lifecycle call of a module of another line was let through');
        } catch (DaemonError $e) {
            self::assertSame(409, $e->status);
        }
    }

    public function testARequestWithoutAVersionIsRefusedAsAnOlderModule(): void
    {
        $base = self::env('HOSTBRIDGE_TEST_DAEMON_URL');
        $headers = [];
        foreach (DaemonClient::signatureHeaders(self::secret(), 'GET', '/v1/status', '') as $name => $value) {
            $headers[] = $name . ': ' . $value;
        }
        $ch = curl_init($base . '/v1/status');
        curl_setopt_array($ch, [CURLOPT_HTTPHEADER => $headers, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 10]);
        $raw = (string) curl_exec($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        self::assertSame(409, $status, $raw);
        $body = json_decode($raw, true);
        self::assertSame('module_version', $body['code']);
        self::assertStringContainsString('sent no version', $body['error']);
        self::assertStringContainsString('works with the module ' . DaemonClient::compatibleLine(self::daemonVersion()), $body['error']);
    }

    public function testTheAddonSendsTheVersionToo(): void
    {
        $before = count(self::recorded());
        $client = Addon::client(['daemon_url' => self::env('HOSTBRIDGE_TEST_PROXY_URL'), 'shared_secret' => self::secret()]);
        self::assertSame(DaemonClient::MODULE_VERSION, $client->moduleVersion());
        self::assertSame(200, $client->request('POST', '/v1/tick', [])['status']);
        $sent = array_slice(self::recorded(), $before);
        self::assertCount(1, $sent);
        self::assertSame(DaemonClient::MODULE_VERSION, $sent[0]['headers']['x-hostbridge-module-version'] ?? null);
    }
}
