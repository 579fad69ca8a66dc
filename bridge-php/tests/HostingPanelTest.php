<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\HostingPanel;

/**
 * The customer's hosting panel through the module (hosting products), against the daemon
 * bridge.test.ts seeded: hosting services 501 (active), 502 (suspended) and 503 (deploying) of
 * client 12, stored without a plan, and KVM service 601. ClientArea adds the panel below the status
 * of an active or suspended service (its apology when the daemon cannot render it) and keeps the
 * deploy page alone while deploying; HostingAction checks the method and WHMCS's CSRF token before
 * anything is sent, forwards only the hbf_* fields, returns the daemon's refusal in the customer's
 * words and never logs a password.
 */
final class HostingPanelTest extends TestCase
{
    use DaemonEnv;

    private const TOKEN = '0123456789abcdef0123456789abcdef01234567';
    private const MODULE_DIR = __DIR__ . '/../modules/servers/hostbridge';

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        $GLOBALS['hostbridge_test_csrf_ok'] = false;
        $GLOBALS['hostbridge_test_token'] = self::TOKEN;
        $_GET = [];
        $_POST = [];
        $_SERVER['REQUEST_METHOD'] = 'GET';
        \WHMCS\Database\Capsule::reset();
    }

    protected function tearDown(): void
    {
        $_GET = [];
        $_POST = [];
        unset($_SERVER['REQUEST_METHOD']);
    }

    private static function params(int $serviceId, int $userid = 12, string $mode = 'split'): array
    {
        return self::serverParamsFor() + [
            'serviceid' => $serviceId, 'userid' => $userid, 'pid' => 7, 'domain' => "svc{$serviceId}.test", 'username' => "svc{$serviceId}",
            'password' => 'Cust0mer-Pa55!', 'moduletype' => 'hostbridge', 'configoption1' => $mode,
        ];
    }

    private static function post(string $action, array $fields, bool $csrf = true): void
    {
        $_SERVER['REQUEST_METHOD'] = 'POST';
        $GLOBALS['hostbridge_test_csrf_ok'] = $csrf;
        $_POST = ['token' => self::TOKEN, 'hb_action' => $action] + $fields;
    }

    public function testTheTabIsPassedOnWhenShapedLikeAKeyElseTheOverview(): void
    {
        foreach (['dns', 'web', 'backups', 'cron', 'Databases'] as $tab) {
            self::assertSame(strtolower($tab), HostingPanel::tab($tab));
        }
        foreach (['../etc', '', null, 'dns tab', str_repeat('a', 40), '<script>'] as $bad) {
            self::assertSame('overview', HostingPanel::tab($bad));
        }
    }

    public function testTheHostingFunctionsAreAllowedInTheClientArea(): void
    {
        self::assertContains('HostingAction', hostbridge_ClientAreaAllowedFunctions());
        self::assertContains('HostingLive', hostbridge_ClientAreaAllowedFunctions());
    }

    public function testClientAreaAddsThePanelOnceActiveAndKeepsTheDeployPageWhileDeploying(): void
    {
        $_GET = ['hbtab' => '<script>'];
        $r = hostbridge_ClientArea(self::params(501));
        self::assertSame('templates/hosting-panel.tpl', $r['tabOverviewModuleOutputTemplate']);
        self::assertFileExists(self::MODULE_DIR . '/templates/hosting-panel.tpl');
        self::assertNotSame('', trim($r['templateVariables']['hostbridgeHtml']), 'the status fragment stays');
        $panel = self::moduleLog('HostingPanel')[0];
        self::assertSame('/v1/services/501/hosting-panel', $panel['request']['path']);
        // An unknown tab is asked as the overview; the token goes with it.
        self::assertSame(['client_id' => 12, 'tab' => 'overview', 'base' => 'clientarea.php?action=productdetails&id=501', 'token' => self::TOKEN], $panel['request']['body']);
        // The seeded service has no stored plan: the panel cannot be drawn, and the page says so plainly.
        self::assertSame('', $r['templateVariables']['hostbridgePanel']);
        self::assertSame(HostingPanel::UNAVAILABLE, $r['templateVariables']['hostbridgePanelError']);

        $GLOBALS['hostbridge_test_module_log'] = [];
        $deploying = hostbridge_ClientArea(self::params(503, 12, 'unified'));
        self::assertSame('templates/overview.tpl', $deploying['tabOverviewModuleOutputTemplate']);
        self::assertSame([], self::moduleLog('HostingPanel'), 'no panel is asked for while deploying');

        $tpl = (string) file_get_contents(self::MODULE_DIR . '/templates/hosting-panel.tpl');
        self::assertStringContainsString('{$hostbridgePanel nofilter}', $tpl);
        self::assertStringContainsString("{\$hostbridgePanelError|escape:'html'}", $tpl);
    }

    public function testHostingActionNeedsAPostWithWhmcsCsrfTokenBeforeAnythingIsSent(): void
    {
        $_POST = ['hb_action' => 'mailbox-create'];
        self::assertSame('Please use the buttons of the panel.', hostbridge_HostingAction(self::params(501)));
        self::post('mailbox-create', [], false);
        self::assertSame('The form has expired. Please reload the page and try again.', hostbridge_HostingAction(self::params(501)));
        self::post('mailbox-create', []);
        self::assertSame('This service has no hosting panel.', hostbridge_HostingAction(self::params(601, 12, 'kvm')));
        self::post('Bad Action', []);
        self::assertSame('Unknown action.', hostbridge_HostingAction(self::params(501)));
        self::assertSame([], $GLOBALS['hostbridge_test_module_log'], 'nothing reached the daemon');
    }

    public function testHostingActionReturnsTheDaemonsRefusalAndNeverLogsThePassword(): void
    {
        $secret = 'Mailb0x-Passw0rd-77';
        self::post('mailbox-create', ['hbf_name' => 'info', 'hbf_password' => $secret, 'password' => 'not-a-field', 'hb_other' => 'x']);
        $r = hostbridge_HostingAction(self::params(501));
        self::assertMatchesRegularExpression('/has no hosting panel/', $r);
        $entry = self::moduleLog('HostingAction')[0];
        self::assertSame('/v1/services/501/hosting-panel/actions', $entry['request']['path']);
        self::assertSame(12, $entry['request']['body']['client_id']);
        self::assertSame('mailbox-create', $entry['request']['body']['action']);
        self::assertSame(['name', 'password'], array_keys((array) $entry['request']['body']['fields']), 'only the hbf_ fields are forwarded');
        self::assertNoSecret(self::logged($GLOBALS['hostbridge_test_module_log']), $secret, self::secret());

        // Another client's service is not found; an unknown action is the daemon's 404 in words.
        self::post('mailbox-create', []);
        self::assertMatchesRegularExpression('/does not exist/', hostbridge_HostingAction(self::params(501, 13)));
        self::post('explode', []);
        self::assertMatchesRegularExpression('/is not an action of the hosting panel/', hostbridge_HostingAction(self::params(501)));
    }
}
