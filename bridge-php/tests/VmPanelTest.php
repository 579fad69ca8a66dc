<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\VmPanel;

/**
 * The customer's VM panel through the module (KVM products), against the daemon bridge.test.ts
 * seeded: KVM services 601 (active) and 602 (suspended) of client 12, with no Proxmox behind them.
 * ClientArea returns the daemon's panel for the asked tab in templates/panel.tpl, with WHMCS links
 * and the session's CSRF token in its forms and no daemon address; another client gets the plain
 * apology; VmAction checks the CSRF token and the method before anything is sent, forwards only the
 * hbf_* fields, returns the daemon's refusal in the customer's words and never logs a password;
 * VmLive's JSON and the console link answer only the owner.
 */
final class VmPanelTest extends TestCase
{
    use DaemonEnv;

    private const TOKEN = '0123456789abcdef0123456789abcdef01234567';
    private const CUSTOMER_PASSWORD = 'Vm-Cust0mer-Pa55!';

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

    /** $params of a KVM service as WHMCS passes them to the client area of client $userid. */
    private static function params(int $serviceId, int $userid = 12): array
    {
        return self::serverParamsFor() + [
            'serviceid' => $serviceId, 'userid' => $userid, 'pid' => 11, 'domain' => "vm{$serviceId}.example.org", 'username' => "vm{$serviceId}",
            'password' => self::CUSTOMER_PASSWORD, 'moduletype' => 'hostbridge', 'configoption1' => 'kvm', 'configoption15' => '4',
        ];
    }

    private static function post(string $action, array $fields, bool $csrf = true): void
    {
        $_SERVER['REQUEST_METHOD'] = 'POST';
        $GLOBALS['hostbridge_test_csrf_ok'] = $csrf;
        $_POST = ['token' => self::TOKEN, 'hb_action' => $action] + $fields;
    }

    public function testTheCustomFunctionsAClientMayCall(): void
    {
        self::assertSame(['VmAction', 'VmLive', 'VmConsole', 'SslAction', 'HostingAction', 'HostingLive'], hostbridge_ClientAreaAllowedFunctions());
    }

    public function testClientAreaShowsTheAskedTabWithWhmcsLinksAndTheCsrfToken(): void
    {
        $_GET = ['hbtab' => 'snapshots'];
        $r = hostbridge_ClientArea(self::params(601));
        self::assertSame('templates/panel.tpl', $r['tabOverviewModuleOutputTemplate']);
        $html = $r['templateVariables']['hostbridgePanel'];
        // Attribute values are escaped (handlebars writes = and & as entities); read as a browser does.
        $decoded = html_entity_decode($html, ENT_QUOTES | ENT_HTML5, 'UTF-8');
        self::assertStringContainsString('data-tab="snapshots"', $html);
        self::assertStringContainsString('href="clientarea.php?action=productdetails&id=601&hbtab=graphs"', $decoded);
        self::assertStringContainsString('data-live-url="clientarea.php?action=productdetails&id=601&modop=custom&a=VmLive"', $decoded);
        self::assertStringNotContainsString('&id=601&hbtab', $html, 'no raw & in an attribute');
        // Its forms (disabled or not) post to VmAction with the session's token.
        $_GET = ['hbtab' => 'overview'];
        $overview = hostbridge_ClientArea(self::params(602))['templateVariables']['hostbridgePanel'];
        self::assertStringContainsString('action="clientarea.php?action=productdetails&id=602&modop=custom&a=VmAction"', html_entity_decode($overview, ENT_QUOTES | ENT_HTML5, 'UTF-8'));
        self::assertStringContainsString('<input type="hidden" name="token" value="' . self::TOKEN . '">', $overview);
        $_GET = ['hbtab' => 'snapshots'];
        // No Proxmox answers for the seeded VMs: the box says so, the page is whole.
        self::assertStringContainsString('The snapshots cannot be read right now', $html);
        self::assertStringNotContainsString(self::env('HOSTBRIDGE_TEST_DAEMON_URL'), $html);
        self::assertNoSecret([$r, self::logged($GLOBALS['hostbridge_test_module_log'])], self::secret(), self::CUSTOMER_PASSWORD);

        $entry = self::moduleLog('ClientArea')[0];
        self::assertSame('/v1/services/601/panel', $entry['request']['path']);
        self::assertSame(['client_id' => 12, 'tab' => 'snapshots', 'base' => 'clientarea.php?action=productdetails&id=601', 'token' => self::TOKEN], $entry['request']['body']);

        // An unknown tab is the overview; a suspended service's forms are off and say why.
        $_GET = ['hbtab' => '<script>'];
        $html = hostbridge_ClientArea(self::params(602))['templateVariables']['hostbridgePanel'];
        self::assertStringContainsString('data-tab="overview"', $html);
        self::assertStringContainsString('This service is suspended', $html);
        self::assertStringContainsString('<fieldset disabled class="hb-forms">', $html);
    }

    public function testAnotherClientsServiceGetsThePlainApology(): void
    {
        $r = hostbridge_ClientArea(self::params(601, 13));
        self::assertSame('templates/error.tpl', $r['tabOverviewModuleOutputTemplate']);
        self::assertSame(VmPanel::UNAVAILABLE, $r['templateVariables']['hostbridgeError']);
        self::assertStringContainsString('was not found', (string) self::moduleLog('ClientArea')[0]['processed']);
    }

    public function testVmActionNeedsAPostWithWhmcsCsrfTokenBeforeAnythingIsSent(): void
    {
        $_POST = ['hb_action' => 'reboot'];
        self::assertSame('Please use the buttons of the panel.', hostbridge_VmAction(self::params(602)));
        self::post('reboot', [], false);
        self::assertSame('The form has expired. Please reload the page and try again.', hostbridge_VmAction(self::params(602)));
        self::assertSame([], $GLOBALS['hostbridge_test_module_log'], 'nothing reached the daemon');
    }

    public function testVmActionReturnsTheDaemonsRefusalAndNeverLogsThePassword(): void
    {
        $new = 'N3w-Panel-Passw0rd!';
        self::post('password', ['hbf_password' => $new, 'password' => 'not-a-field', 'hb_other' => 'x']);
        $r = hostbridge_VmAction(self::params(602));
        self::assertMatchesRegularExpression('/^Your service is suspended/', $r);
        $entry = self::moduleLog('VmAction')[0];
        self::assertSame('/v1/services/602/panel/actions', $entry['request']['path']);
        self::assertSame(12, $entry['request']['body']['client_id']);
        self::assertSame('password', $entry['request']['body']['action']);
        self::assertSame(['password'], array_keys((array) $entry['request']['body']['fields']), 'only the hbf_ fields are forwarded');
        self::assertNoSecret(self::logged($GLOBALS['hostbridge_test_module_log']), $new, self::secret(), self::CUSTOMER_PASSWORD);

        // Another client's service is not found; an unknown action is the daemon's 404 in words.
        self::post('reboot', []);
        self::assertMatchesRegularExpression('/does not exist/', hostbridge_VmAction(self::params(601, 13)));
        self::post('explode', []);
        self::assertMatchesRegularExpression('/is not an action of the VM panel/', hostbridge_VmAction(self::params(602)));
        self::post('Bad Action', []);
        self::assertSame('Unknown action.', hostbridge_VmAction(self::params(602)));
    }

    public function testFieldsAndMessagesAsTheCustomerSeesThem(): void
    {
        self::assertSame(
            ['days' => 'mon,thu', 'name' => 'snap-1', 'password' => ' spaced '],
            VmPanel::fieldsOf(['hbf_days' => ['mon', 'thu'], 'hbf_name' => 'snap-1', 'hbf_password' => ' spaced ', 'token' => 't', 'hb_action' => 'x', 'hbf_Bad' => 'no', 'hbf_' => 'no', 'id' => '5'])
        );
        self::assertSame('Your VPS has 2 snapshot(s).', VmPanel::customerMessage('hostbridge: the daemon answered HTTP 409: Your VPS has 2 snapshot(s).'));
        self::assertSame("\u{2039}svg onload=x\u{203A} is not a host name", VmPanel::customerMessage('hostbridge: the daemon answered HTTP 422: <svg onload=x> is not a host name'));
        self::assertSame(VmPanel::NOT_SENT, VmPanel::customerMessage('hostbridge: the daemon answered HTTP 500: no error message'));
        self::assertSame(VmPanel::NOT_SENT, VmPanel::customerMessage('hostbridge: the daemon answered HTTP 401: the daemon refused the signature'));
        self::assertSame(VmPanel::NOT_SENT, VmPanel::customerMessage('hostbridge: cannot reach the hostbridge daemon at http://127.0.0.1:1: refused'));
        self::assertSame('overview', VmPanel::tab('../etc'));
        self::assertSame('graphs', VmPanel::tab('Graphs'));
        self::assertNull(VmPanel::timeframe('decade'));
        self::assertSame('week', VmPanel::timeframe('week'));
    }

    public function testLiveFiguresAndTheConsoleAnswerOnlyTheOwner(): void
    {
        $live = VmPanel::live(self::params(601));
        self::assertSame(200, $live['status']);
        $data = json_decode($live['json'], true);
        self::assertTrue($data['ok']);
        self::assertSame('active', $data['state']);
        self::assertNull($data['status'], 'no Proxmox behind the seeded VM');
        self::assertSame('the live figures cannot be read right now', $data['live_error']);
        self::assertSame('/v1/services/601/panel/live?client_id=12', self::moduleLog('VmLive')[0]['request']['path']);

        $other = VmPanel::live(self::params(601, 13));
        self::assertSame(503, $other['status']);
        self::assertSame(['ok' => false, 'error' => 'The live figures cannot be read right now.'], json_decode($other['json'], true));

        $console = VmPanel::console(self::params(601, 13));
        self::assertFalse($console['ok']);
        self::assertSame('', $console['url']);
        self::assertSame('The link has expired. Please reload the page and try again.', hostbridge_VmConsole(self::params(601)));
        self::assertNoSecret(self::logged($GLOBALS['hostbridge_test_module_log']), self::secret(), self::CUSTOMER_PASSWORD);
    }
}

if (!function_exists('check_token')) {
    /** WHMCS's CSRF check, as the tests set it: true or false (the real one ends a request that fails). */
    function check_token($namespace = 'WHMCS.default')
    {
        return $GLOBALS['hostbridge_test_csrf_ok'] ?? false;
    }
}
if (!function_exists('generate_token')) {
    /** WHMCS's CSRF token of the session ("plain": the value alone); the tests set it (as AddonTest does). */
    function generate_token($type = 'form')
    {
        $t = (string) ($GLOBALS['hostbridge_test_token'] ?? '');
        return $type === 'plain' ? $t : '<input type="hidden" name="token" value="' . $t . '" />';
    }
}
