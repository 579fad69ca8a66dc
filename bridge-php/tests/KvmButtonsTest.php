<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\Buttons;
use WHMCS\Module\Server\Hostbridge\DaemonClient;

/**
 * The admin buttons of a KVM product (Start VM, Stop VM, Reboot VM, Redeploy, Retry, Force
 * terminate) against the daemon bridge.test.ts seeded: KVM services 601 (active), 602 (suspended)
 * and 603 (deploying), whose chains stay queued (its engine is stopped). A hosting product keeps its
 * own buttons; a refused button returns the daemon's own reason; the VM shows in the admin tab and
 * the client area.
 */
final class KvmButtonsTest extends TestCase
{
    use DaemonEnv;

    private const KVM_LABELS = ['Start VM', 'Stop VM', 'Reboot VM', 'Redeploy', 'Retry', 'Force terminate'];
    private const HOSTING_LABELS = ['Redeploy', 'Verify & Repair', 'Force terminate', 'Sync usage'];

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        \WHMCS\Database\Capsule::reset();
    }

    /** $params of a KVM service as WHMCS passes them (its product's Module Settings included). */
    private static function kvmParams(int $serviceId): array
    {
        return self::serverParamsFor() + [
            'serviceid' => $serviceId, 'userid' => 12, 'pid' => 11, 'domain' => "vm{$serviceId}.example.org", 'username' => "vm{$serviceId}",
            'password' => 'Vm-Cust0mer-Pa55!', 'moduletype' => 'hostbridge', 'configoption1' => 'kvm', 'configoption15' => '4',
        ];
    }

    private static function kvmSeed(int $id): array
    {
        foreach (self::seed()['kvm'] ?? [] as $k) {
            if ($k['service_id'] === $id) {
                return $k;
            }
        }
        self::fail("KVM service {$id} is not in the seed (bridge.test.ts)");
    }

    private static function service(int $id): array
    {
        $answer = DaemonClient::fromParams(self::serverParamsFor())->request('GET', "/v1/services/{$id}", null);
        self::assertSame(200, $answer['status']);
        return $answer['data']['service'];
    }

    public function testAKvmProductGetsTheVmsButtonsAndAHostingProductKeepsItsOwn(): void
    {
        $kvm = hostbridge_AdminCustomButtonArray(self::kvmParams(601));
        self::assertSame(self::KVM_LABELS, array_keys($kvm));
        self::assertSame('StartVm', $kvm['Start VM']);
        self::assertSame('StopVm', $kvm['Stop VM']);
        self::assertSame('RebootVm', $kvm['Reboot VM']);
        self::assertSame('Redeploy', $kvm['Redeploy']);
        self::assertSame('VerifyRepair', $kvm['Retry'], 'Retry runs Verify & Repair: the deploy machine again from where it stopped');
        self::assertArrayNotHasKey('Sync usage', $kvm, 'a VM has no hosting usage');
        foreach ($kvm as $suffix) {
            self::assertTrue(function_exists('hostbridge_' . $suffix), "hostbridge_{$suffix} is not defined");
        }
        // As WHMCS may store it.
        self::assertSame(self::KVM_LABELS, array_keys(hostbridge_AdminCustomButtonArray(['configoption1' => ' KVM '])));
        foreach (['split', 'unified', 'vanity', '', 'kvm2'] as $mode) {
            self::assertSame(self::HOSTING_LABELS, array_keys(hostbridge_AdminCustomButtonArray(['configoption1' => $mode] + self::kvmParams(601))), $mode);
        }
        self::assertSame(self::HOSTING_LABELS, array_keys(hostbridge_AdminCustomButtonArray()));
        self::assertSame(self::HOSTING_LABELS, array_keys(hostbridge_AdminCustomButtonArray([])));
    }

    public function testWithoutTheProductSettingsTheProductRowDecides(): void
    {
        \WHMCS\Database\Capsule::reset(['tblproducts' => [
            ['id' => 11, 'servertype' => 'hostbridge', 'configoption1' => 'kvm'],
            ['id' => 7, 'servertype' => 'hostbridge', 'configoption1' => 'split'],
            ['id' => 12, 'servertype' => 'othermodule', 'configoption1' => 'kvm'],
        ]]);
        self::assertSame(self::KVM_LABELS, array_keys(Buttons::forProduct(['pid' => 11])));
        self::assertSame(self::KVM_LABELS, array_keys(Buttons::forProduct(['packageid' => '11'])));
        self::assertSame(self::HOSTING_LABELS, array_keys(Buttons::forProduct(['pid' => 7])));
        self::assertSame(self::HOSTING_LABELS, array_keys(Buttons::forProduct(['pid' => 12])), 'another module\'s product');
        self::assertSame(self::HOSTING_LABELS, array_keys(Buttons::forProduct(['pid' => 99])));
        // A database that does not answer: the hosting buttons, no exception.
        \WHMCS\Database\Capsule::$failure = new \RuntimeException('db down');
        self::assertSame(self::HOSTING_LABELS, array_keys(Buttons::forProduct(['pid' => 11])));
    }

    public function testPowerButtonsQueueTheVmsChains(): void
    {
        $seed = self::kvmSeed(601);
        self::assertSame('active', $seed['state']);
        $params = self::kvmParams(601);

        self::assertSame('success', hostbridge_StartVm($params));
        $svc = self::service(601);
        self::assertSame('kvm', $svc['mode']);
        self::assertSame('start', $svc['progress']['operation'], 'the start chain is the one shown');
        self::assertSame(['Starting the VM on pve2', 'Checking that the VM runs on pve2'], array_column($svc['progress']['steps'], 'label'));

        foreach (['StopVm' => 'stop', 'RebootVm' => 'reboot', 'Redeploy' => 'redeploy', 'VerifyRepair' => 'verify-repair'] as $fn => $action) {
            self::assertSame('success', ('hostbridge_' . $fn)($params), $fn);
        }
        $paths = array_map(static fn ($e) => $e['action'] . ' ' . $e['request']['method'] . ' ' . $e['request']['path'], $GLOBALS['hostbridge_test_module_log']);
        self::assertSame([
            'StartVm POST /v1/services/601/actions/start',
            'StopVm POST /v1/services/601/actions/stop',
            'RebootVm POST /v1/services/601/actions/reboot',
            'Redeploy POST /v1/services/601/actions/redeploy',
            'VerifyRepair POST /v1/services/601/actions/verify-repair',
        ], $paths);
        // Every call is in the Module Log, the shared secret and the password masked (passed as replaceVars).
        foreach ($GLOBALS['hostbridge_test_module_log'] as $entry) {
            self::assertSame('hostbridge', $entry['module']);
            self::assertContains(self::secret(), $entry['replaceVars']);
            self::assertNoSecret(self::logged([$entry]), self::secret(), 'Vm-Cust0mer-Pa55!');
        }
        // The daemon holds the chains in order: the one queued first runs first.
        $answer = self::lastDaemonAnswer('VerifyRepair');
        self::assertTrue($answer['ok']);
        self::assertIsInt($answer['chain_id']);
    }

    public function testARefusedButtonReturnsTheDaemonsReason(): void
    {
        $suspended = self::kvmParams(602);
        self::assertSame('suspended', self::kvmSeed(602)['state']);
        foreach (['StartVm', 'RebootVm'] as $fn) {
            self::assertSame('hostbridge: the daemon answered HTTP 409: service 602 is suspended: its VM stays off until it is unsuspended', ('hostbridge_' . $fn)($suspended), $fn);
        }
        self::assertSame('deploying', self::kvmSeed(603)['state']);
        foreach (['StartVm', 'StopVm', 'RebootVm'] as $fn) {
            self::assertSame('hostbridge: the daemon answered HTTP 409: service 603 is deploying: the power buttons work once its VM is deployed', ('hostbridge_' . $fn)(self::kvmParams(603)), $fn);
        }
        self::assertNull(self::service(603)['progress'], 'nothing was queued for the refused buttons');

        // A hosting service (created here on group 1, which bridge.test.ts gives a web and a mail node) has no power buttons.
        $hosting = self::serverParamsFor() + ['serviceid' => 4901, 'userid' => 12, 'pid' => 7, 'domain' => 'hosting4901.example.com', 'username' => 'host4901',
            'password' => 'Host-Pa55word!', 'configoption1' => 'split', 'configoption2' => '1', 'configoption3' => 'on', 'configoption4' => '', 'configoption5' => ''];
        self::assertSame('success', hostbridge_CreateAccount($hosting));
        $r = hostbridge_StartVm($hosting);
        self::assertSame('hostbridge: the daemon answered HTTP 409: start is a button of a KVM service (a Proxmox VM); service 4901 is a split hosting service', $r);
        self::assertSame('deploy', self::service(4901)['progress']['operation'], 'the refused start queued nothing');

        // An unknown service, and no service id at all: readable, no exception.
        self::assertMatchesRegularExpression('/^hostbridge: the daemon answered HTTP 404: .*4999/', hostbridge_StopVm(self::kvmParams(4999)));
        self::assertSame('hostbridge: the service id (serviceid) is missing from the module parameters', hostbridge_RebootVm(['serviceid' => ''] + self::kvmParams(601)));
    }

    public function testTheVmShowsInTheAdminTabAndTheClientArea(): void
    {
        $seed = self::kvmSeed(602);
        $tab = hostbridge_AdminServicesTabFields(self::kvmParams(602))['hostbridge'];
        self::assertStringContainsString('class="hostbridge-table hostbridge-vm"', $tab);
        self::assertStringContainsString('<tr><th>Host name</th><td>' . $seed['hostname'] . '</td></tr>', $tab);
        self::assertStringContainsString('<tr><th>VMID</th><td>' . $seed['vmid'] . '</td></tr>', $tab);
        self::assertStringContainsString('<tr><th>Node</th><td>' . $seed['node'] . '</td></tr>', $tab);
        self::assertStringContainsString('<tr><th>State</th><td>suspended (stopped)</td></tr>', $tab);
        self::assertStringContainsString('<tr><th>Profile</th>', $tab, 'the admin sees the profile');

        // The client area of a KVM product is the customer's VM panel (VmPanelTest has the rest).
        $client = hostbridge_ClientArea(self::kvmParams(602));
        self::assertSame('templates/panel.tpl', $client['tabOverviewModuleOutputTemplate']);
        $html = $client['templateVariables']['hostbridgePanel'];
        self::assertStringContainsString('<td id="hb-hostname">' . $seed['hostname'] . '</td>', $html);
        self::assertStringContainsString('This service is suspended', $html);
        self::assertStringNotContainsString('<tr><th>Profile</th>', $html, 'the profile is the admin\'s word');
        self::assertNoSecret([$tab, $client], self::secret(), 'Vm-Cust0mer-Pa55!');
    }
}
