<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\DaemonClient;
use WHMCS\Module\Server\Hostbridge\HostingPlans;
use WHMCS\Module\Server\Hostbridge\Params;

/**
 * Module Setting 16, "Hosting plan": appended after the KVM profile without moving positions 1–15,
 * its loader against the daemon (a "none" entry first, then the daemon's profiles), readable errors,
 * and configoption16 sent to the daemon as it came.
 */
final class HostingPlansTest extends TestCase
{
    use DaemonEnv;

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        \WHMCS\Database\Capsule::reset();
    }

    public function testHostingPlanIsSettingSixteenAndTheOthersKeepTheirPositions(): void
    {
        $options = hostbridge_ConfigOptions();
        $names = array_keys($options);
        self::assertLessThanOrEqual(24, count($options));
        self::assertSame(
            ['Deployment mode', 'Server group', 'Web', 'Mail', 'DNS', 'Web disk quota (MB)', 'Mail disk quota (MB)', 'Web bandwidth (MB)',
                'Web domains', 'Databases', 'Mail accounts', 'Vanity site quota (MB)', 'Vanity mailbox quota (MB)', 'Server Sync key', 'KVM profile'],
            array_slice($names, 0, 15),
        );
        self::assertSame('Hosting plan', $names[15], 'configoption16 is the hosting plan');
        $plan = $options['Hosting plan'];
        self::assertSame('dropdown', $plan['Type']);
        self::assertSame('hostbridge_LoaderHostingPlans', $plan['Loader']);
        self::assertTrue(function_exists($plan['Loader']));
        // The admin reads what overrides the profile, and that the Module Settings it replaces are not read.
        foreach (['web_disk_quota', 'mail_disk_quota', 'web_bandwidth', 'web_domains', 'databases', 'mail_accounts', 'not read', 'none'] as $word) {
            self::assertStringContainsString($word, $plan['Description']);
        }
    }

    public function testPlanOptionsFromAnAnswer(): void
    {
        $answer = ['ok' => true, 'plans' => [
            ['id' => 3, 'name' => 'web-basic'], ['id' => '8', 'name' => 'web <pro>'], ['id' => 0, 'name' => 'bad'], 'junk', ['name' => 'no-id'], ['id' => 12, 'name' => ''],
        ]];
        self::assertSame(['' => HostingPlans::NONE, 3 => 'web-basic', 8 => 'web <pro>', 12 => 'plan 12'], HostingPlans::options($answer));
        self::assertSame(['' => HostingPlans::NONE], HostingPlans::options(['ok' => true, 'plans' => []]), 'no profile yet: only "none"');
        $thrown = null;
        try {
            HostingPlans::options(['ok' => true, 'profiles' => []]);
        } catch (\Exception $e) {
            $thrown = $e;
        }
        self::assertNotNull($thrown);
        self::assertSame('hostbridge: the daemon\'s answer to GET /v1/hosting-plans has no list of plans', $thrown->getMessage());
    }

    public function testLoaderListsTheDaemonsPlans(): void
    {
        $name = 'php-' . bin2hex(random_bytes(4));
        $client = DaemonClient::fromParams(self::serverParamsFor());
        $created = $client->request('POST', '/v1/hosting-plans', [
            'name' => $name, 'web' => ['aliases' => 5, 'backend_template' => 'PHP-8_3'], 'mail' => ['accounts' => 'unlimited'],
        ]);
        self::assertSame(201, $created['status']);
        $id = $created['data']['id'];
        self::assertIsInt($id);

        hostbridge_ConfigOptions();
        $options = hostbridge_LoaderHostingPlans(self::serverParamsFor());
        self::assertSame(HostingPlans::NONE, $options['']);
        self::assertSame(array_key_first($options), '', '"none" comes first');
        self::assertSame($name, $options[$id]);
        $log = self::moduleLog('LoaderHostingPlans');
        self::assertCount(1, $log);
        self::assertSame('GET', $log[0]['request']['method']);
        self::assertSame('/v1/hosting-plans', $log[0]['request']['path']);
        self::assertNoSecret(self::logged($log), self::secret());

        // The daemon refuses a bad template name, naming the field; the module shows its words.
        $thrown = null;
        try {
            $client->request('POST', '/v1/hosting-plans', ['name' => $name . '-b', 'web' => ['proxy_template' => '../evil']]);
        } catch (\Exception $e) {
            $thrown = $e;
        }
        self::assertNotNull($thrown);
        self::assertStringContainsString('web.proxy_template: "../evil" is not a HestiaCP template name', $thrown->getMessage());
        self::assertSame(200, $client->request('DELETE', '/v1/hosting-plans/' . $id, null)['status']);
    }

    public function testLoaderThrowsReadableMessages(): void
    {
        hostbridge_ConfigOptions();
        $wrong = self::wrongSecret();
        $cases = [
            'wrong secret' => [self::serverParamsFor(null, $wrong), '/signature.*HOSTBRIDGE_SECRET/'],
            'no params' => [[], '/hostname or IP address/'],
            'closed port' => [self::serverParamsFor('http://127.0.0.1:' . self::closedPortNumber()), '/cannot reach the hostbridge daemon/'],
        ];
        foreach ($cases as $label => [$params, $pattern]) {
            $thrown = null;
            try {
                hostbridge_LoaderHostingPlans($params);
            } catch (\Exception $e) {
                $thrown = $e;
            }
            self::assertNotNull($thrown, "the loader did not throw ({$label})");
            self::assertMatchesRegularExpression($pattern, $thrown->getMessage(), $label);
            self::assertStringStartsWith('hostbridge: ', $thrown->getMessage(), $label);
            self::assertNoSecret($thrown->getMessage(), $wrong, self::secret());
        }
    }

    public function testConfigOptionSixteenIsSentAsItCame(): void
    {
        $p = new Params(['configoption1' => 'split', 'configoption2' => '1', 'configoption16' => '7']);
        self::assertSame('7', $p->package()['product']->configoption16);
    }
}
