<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\Ssl;

/**
 * The client's SSL box through the module (hosting products), against the daemon bridge.test.ts
 * seeded (split 501 active without SSL rows yet, split 502 suspended, client 12). SslAction is a
 * client custom function; it checks the method and WHMCS's CSRF token before anything is sent,
 * forwards only the certificate fields, returns the daemon's refusal in the customer's words, and
 * never logs the private key. The daemon's fragment gets the session's token in its SSL forms.
 */
final class SslTest extends TestCase
{
    use DaemonEnv;

    private const TOKEN = '0123456789abcdef0123456789abcdef01234567';
    private const CUSTOMER_PASSWORD = 'Ssl-Cust0mer-Pa55!';
    /** A distinctive piece of a "private key" that must never reach the Module Log or the answer. */
    private const KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsslTestKeyBody42\n-----END PRIVATE KEY-----\n";

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        $GLOBALS['hostbridge_test_csrf_ok'] = false;
        $GLOBALS['hostbridge_test_token'] = self::TOKEN;
        $_POST = [];
        $_SERVER['REQUEST_METHOD'] = 'GET';
    }

    protected function tearDown(): void
    {
        $_POST = [];
        unset($_SERVER['REQUEST_METHOD']);
    }

    private static function params(int $serviceId, int $userid = 12): array
    {
        return self::serverParamsFor() + [
            'serviceid' => $serviceId, 'userid' => $userid, 'pid' => 7, 'domain' => "svc{$serviceId}.test", 'username' => "svc{$serviceId}",
            'password' => self::CUSTOMER_PASSWORD, 'moduletype' => 'hostbridge', 'configoption1' => 'split',
        ];
    }

    private static function post(array $fields, bool $csrf = true): void
    {
        $_SERVER['REQUEST_METHOD'] = 'POST';
        $GLOBALS['hostbridge_test_csrf_ok'] = $csrf;
        $_POST = ['token' => self::TOKEN] + $fields;
    }

    public function testSslActionIsAClientFunction(): void
    {
        self::assertContains('SslAction', hostbridge_ClientAreaAllowedFunctions());
    }

    public function testNothingIsSentWithoutPostAndAValidToken(): void
    {
        self::assertSame('Please use the buttons of the SSL box.', hostbridge_SslAction(self::params(501)));
        self::post(['hb_action' => 'renew', 'hb_role' => 'web'], false);
        self::assertSame('The form has expired. Please reload the page and try again.', hostbridge_SslAction(self::params(501)));
        self::post(['hb_action' => 'reboot', 'hb_role' => 'web']);
        self::assertSame('Unknown action.', hostbridge_SslAction(self::params(501)));
        self::post(['hb_action' => 'renew', 'hb_role' => 'dns']);
        self::assertSame('Unknown certificate.', hostbridge_SslAction(self::params(501)));
        self::assertSame([], $GLOBALS['hostbridge_test_module_log'], 'no request was sent');
    }

    public function testRenewOfASuspendedServiceIsRefusedInTheCustomersWords(): void
    {
        self::post(['hb_action' => 'renew', 'hb_role' => 'web']);
        $r = hostbridge_SslAction(self::params(502));
        self::assertMatchesRegularExpression('/service 502 is suspended: its certificates are checked again once it is unsuspended/', $r);
        $entry = self::moduleLog('SslAction')[0];
        self::assertSame('/v1/services/502/ssl/actions', $entry['request']['path']);
        self::assertSame(['action' => 'renew', 'role' => 'web', 'fields' => [], 'actor' => 'WHMCS client #12'], $entry['request']['body']);
        self::assertNoSecret(self::logged($GLOBALS['hostbridge_test_module_log']), self::secret(), self::CUSTOMER_PASSWORD);
    }

    public function testAnUploadForwardsOnlyTheCertificateFieldsAndNeverLogsTheKey(): void
    {
        self::post(['hb_action' => 'upload-custom', 'hb_role' => 'web', 'hbf_certificate' => "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            'hbf_private_key' => self::KEY, 'hbf_chain' => '', 'hbf_other' => 'not forwarded', 'userid' => '99']);
        $r = hostbridge_SslAction(self::params(501));
        self::assertNotSame('success', $r);
        self::assertMatchesRegularExpression('/service 501 has no web role with SSL/', $r);
        $entry = self::moduleLog('SslAction')[0];
        self::assertSame(['certificate', 'private_key'], array_keys($entry['request']['body']['fields']));
        self::assertNoSecret([$r, self::logged($GLOBALS['hostbridge_test_module_log'])], 'sslTestKeyBody42', self::secret(), self::CUSTOMER_PASSWORD);
    }

    public function testTheFragmentsFormsGetTheSessionsToken(): void
    {
        $html = '<form method="post" action="x"><input type="hidden" name="token" value=""><input name="token" value="keep"></form>';
        self::assertSame('<form method="post" action="x"><input type="hidden" name="token" value="' . self::TOKEN . '"><input name="token" value="keep"></form>', Ssl::withToken($html, self::TOKEN));
        self::assertSame('<input type="hidden" name="token" value="abc">', Ssl::withToken('<input type="hidden" name="token" value="">', 'a"b<c'));
    }
}
