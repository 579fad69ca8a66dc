<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\DaemonClient;
use WHMCS\Module\Server\Hostbridge\KvmProfiles;
use WHMCS\Module\Server\Hostbridge\Params;

/**
 * The KVM settings of the server module: the kvm deployment mode, Module Setting 15 (KVM profile)
 * with its loader against the daemon, positions 1–14 as they were, and the order's KVM values
 * (configoption15, configurable options, custom fields with their line breaks) packed for the
 * daemon unchanged.
 */
final class KvmSettingsTest extends TestCase
{
    use DaemonEnv;

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        \WHMCS\Database\Capsule::reset();
    }

    public function testKvmModeAndProfileSettingAreAppendedWithoutMovingTheOthers(): void
    {
        $options = hostbridge_ConfigOptions();
        $names = array_keys($options);
        self::assertLessThanOrEqual(24, count($options));
        // What tblproducts.configoption1..14 meant before KVM, they still mean.
        self::assertSame(
            ['Deployment mode', 'Server group', 'Web', 'Mail', 'DNS', 'Web disk quota (MB)', 'Mail disk quota (MB)', 'Web bandwidth (MB)',
                'Web domains', 'Databases', 'Mail accounts', 'Vanity site quota (MB)', 'Vanity mailbox quota (MB)', 'Server Sync key'],
            array_slice($names, 0, 14),
        );
        self::assertSame('KVM profile', $names[14], 'configoption15 is the KVM profile');
        self::assertSame(['split', 'unified', 'vanity', 'kvm'], explode(',', $options['Deployment mode']['Options']));
        self::assertSame('split', $options['Deployment mode']['Default'], 'a new product is still split by default');
        $kvm = $options['KVM profile'];
        self::assertSame('dropdown', $kvm['Type']);
        self::assertSame('hostbridge_LoaderKvmProfiles', $kvm['Loader']);
        self::assertTrue(function_exists($kvm['Loader']));
        // The admin reads where the overrides and the custom fields are, and that the profile names the cluster.
        foreach (['cores', 'sockets', 'memory (MB)', 'disk (GB)', 'extra_disk (GB, 0 = none)', 'ipv4', 'ipv6', 'rate (MB/s)', 'bandwidth', 'os', 'hostname', 'ssh_keys'] as $word) {
            self::assertStringContainsString($word, $kvm['Description']);
        }
        self::assertStringContainsString('the profile names the cluster', $options['Deployment mode']['Description']);
        self::assertStringContainsString('Server group and the hosting settings are not read', $options['Deployment mode']['Description']);
    }

    public function testProfileOptionsFromAnAnswer(): void
    {
        $answer = ['ok' => true, 'profiles' => [
            ['id' => 4, 'name' => 'vps-small'], ['id' => '9', 'name' => 'vps <large>'], ['id' => 0, 'name' => 'bad'], 'junk', ['name' => 'no-id'], ['id' => 11, 'name' => ''],
        ]];
        self::assertSame(['' => KvmProfiles::NONE, 4 => 'vps-small', 9 => 'vps <large>', 11 => 'profile 11'], KvmProfiles::options($answer));
        // No profile yet: only "none", so a hosting product's settings still save.
        self::assertSame(['' => KvmProfiles::NONE], KvmProfiles::options(['ok' => true, 'profiles' => []]));
        $thrown = null;
        try {
            KvmProfiles::options(['ok' => true, 'groups' => []]);
        } catch (\Exception $e) {
            $thrown = $e;
        }
        self::assertNotNull($thrown);
        self::assertSame('hostbridge: the daemon\'s answer to GET /v1/kvm-profiles has no list of profiles', $thrown->getMessage());
    }

    public function testProfileLoaderListsTheDaemonsProfiles(): void
    {
        $name = 'php-' . bin2hex(random_bytes(4));
        $client = DaemonClient::fromParams(self::serverParamsFor());
        $created = $client->request('POST', '/v1/kvm-profiles', [
            'name' => $name, 'cluster_id' => 1, 'cores' => 2, 'memory_mb' => 2048, 'default_os' => 'debian-12',
            'system_disk' => ['size_gb' => 20, 'storage' => 'local-lvm'], 'network' => ['bridge' => 'vmbr0', 'vlan' => null],
        ]);
        self::assertSame(201, $created['status']);
        $id = $created['data']['id'];
        self::assertIsInt($id);

        $options = hostbridge_LoaderKvmProfiles(self::serverParamsFor());
        self::assertSame(KvmProfiles::NONE, $options['']);
        self::assertSame($name, $options[$id]);
        $log = self::moduleLog('LoaderKvmProfiles');
        self::assertCount(1, $log);
        self::assertSame('GET', $log[0]['request']['method']);
        self::assertSame('/v1/kvm-profiles', $log[0]['request']['path']);
        self::assertNoSecret(self::logged($log), self::secret());

        // The daemon refuses a bad profile naming the field; the module shows its words.
        $thrown = null;
        try {
            $client->request('POST', '/v1/kvm-profiles', [
                'name' => $name . '-b', 'cluster_id' => 1, 'cores' => 2, 'memory_mb' => 2048, 'default_os' => 'debian-12',
                'system_disk' => ['size_gb' => 20, 'storage' => 'local-lvm'], 'network' => ['bridge' => 'vmbr0', 'vlan' => 5000],
            ]);
        } catch (\Exception $e) {
            $thrown = $e;
        }
        self::assertNotNull($thrown);
        self::assertStringContainsString('network.vlan: 5000 is out of range', $thrown->getMessage());
    }

    public function testProfileLoaderThrowsReadableMessages(): void
    {
        $wrong = self::wrongSecret();
        $cases = [
            'wrong secret' => [self::serverParamsFor(null, $wrong), '/signature.*HOSTBRIDGE_SECRET/'],
            'no params' => [[], '/hostname or IP address/'],
            'closed port' => [self::serverParamsFor('http://127.0.0.1:' . self::closedPortNumber()), '/cannot reach the hostbridge daemon/'],
        ];
        foreach ($cases as $label => [$params, $pattern]) {
            $thrown = null;
            try {
                hostbridge_LoaderKvmProfiles($params);
            } catch (\Exception $e) {
                $thrown = $e;
            }
            // Asserted outside the catch: PHPUnit's failures are Exceptions too.
            self::assertNotNull($thrown, "the loader did not throw ({$label})");
            self::assertMatchesRegularExpression($pattern, $thrown->getMessage(), $label);
            self::assertStringStartsWith('hostbridge: ', $thrown->getMessage(), $label);
            self::assertNoSecret($thrown->getMessage(), $wrong, self::secret());
        }
    }

    public function testAKvmOrderIsPackedForTheDaemonAsItCame(): void
    {
        $keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== one\r\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB== two";
        $p = new Params([
            'configoption1' => 'kvm', 'configoption2' => '', 'configoption15' => '4',
            'configoptions' => ['cores|CPU cores' => 4, 'memory|RAM' => '8192|8 GB', 'os|Operating system' => 'debian-12|Debian 12'],
            'customfields' => ['hostname' => 'vm1.example.com', 'ssh_keys' => $keys],
            'password' => "it's \"quoted\"",
        ]);
        $package = $p->package();
        self::assertSame('kvm', $package['product']->configoption1);
        self::assertSame('4', $package['product']->configoption15);
        self::assertSame('', $package['product']->configoption16, 'all 24 positions are sent');
        self::assertSame(['cores|CPU cores' => 4, 'memory|RAM' => '8192|8 GB', 'os|Operating system' => 'debian-12|Debian 12'], (array) $package['config_options']);
        // The daemon checks the keys and the host name: the module passes them on byte for byte.
        self::assertSame(['hostname' => 'vm1.example.com', 'ssh_keys' => $keys], (array) $package['custom_fields']);
        self::assertSame("it's \"quoted\"", $p->str('password', false), 'quotes in a password are carried as they are');
    }
}
