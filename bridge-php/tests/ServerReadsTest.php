<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Database\Capsule;
use WHMCS\Service\Status;
use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;
use WHMCS\UsageBilling\Contracts\Metrics\UsageInterface;
use WHMCS\UsageBilling\Metrics\Units\MegaBytes;
use WHMCS\UsageBilling\Metrics\Units\WholeNumber;

/**
 * The server module's read-side functions (Loader, ClientArea, AdminServicesTabFields, UsageUpdate,
 * MetricProvider, ListAccounts) against the daemon that bridge.test.ts seeded.
 */
final class ServerReadsTest extends TestCase
{
    use DaemonEnv;

    private const MODULE_DIR = __DIR__ . '/../modules/servers/hostbridge';

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        $old = ['diskusage' => 1, 'disklimit' => 1, 'bwusage' => 1, 'bwlimit' => 1, 'lastupdate' => '2000-01-01 00:00:00'];
        Capsule::reset([
            'tblproducts' => [
                // Two split products, each with its Server Sync key (configoption14); a unified one without.
                ['id' => 7, 'servertype' => 'hostbridge', 'configoption1' => 'split', 'configoption14' => 'split-basic'],
                ['id' => 10, 'servertype' => 'hostbridge', 'configoption1' => 'split', 'configoption14' => 'split-pro'],
                ['id' => 8, 'servertype' => 'hostbridge', 'configoption1' => 'unified', 'configoption14' => ''],
                ['id' => 9, 'servertype' => 'cpanel', 'configoption1' => 'split'],
            ],
            'tblhosting' => [
                ['id' => 501, 'packageid' => 7, 'server' => 1] + $old,
                // The daemon reports 502, but in this WHMCS the row belongs to another module's product.
                ['id' => 502, 'packageid' => 9, 'server' => 1] + $old,
                // Deploying, never measured (collected_at null).
                ['id' => 503, 'packageid' => 8, 'server' => 1] + $old,
                // Not on the daemon at all.
                ['id' => 600, 'packageid' => 7, 'server' => 1] + $old,
            ],
        ]);
    }

    private static function service(int $id): array
    {
        foreach (self::seed()['services'] as $s) {
            if ($s['service_id'] === $id) {
                return $s;
            }
        }
        self::fail("service {$id} is not in the seed");
    }

    private static function usageOf(int $id): array
    {
        foreach (self::seed()['usage'] as $u) {
            if ($u['service_id'] === $id) {
                return $u;
            }
        }
        self::fail("no seeded usage for {$id}");
    }

    // --- Loader ------------------------------------------------------------------------------

    public function testServerGroupLoaderListsTheDaemonsGroups(): void
    {
        $expected = [];
        foreach (self::seed()['groups'] as $g) {
            $expected[$g['id']] = $g['name'];
        }
        $groups = hostbridge_LoaderServerGroups(self::serverParamsFor());
        ksort($groups);
        ksort($expected);
        self::assertSame($expected, $groups);
        $options = hostbridge_ConfigOptions();
        self::assertSame('hostbridge_LoaderServerGroups', $options['Server group']['Loader']);
        self::assertSame('dropdown', $options['Server group']['Type']);
        self::assertSame('GET', self::moduleLog('LoaderServerGroups')[0]['request']['method']);
        self::assertSame('/v1/server-groups', self::moduleLog('LoaderServerGroups')[0]['request']['path']);
    }

    public function testServerGroupLoaderThrowsReadableMessages(): void
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
                hostbridge_LoaderServerGroups($params);
            } catch (\Exception $e) {
                $thrown = $e;
            }
            // Asserted outside the catch: PHPUnit's failures are Exceptions too, and the catch would swallow them.
            self::assertNotNull($thrown, "the loader did not throw ({$label})");
            self::assertMatchesRegularExpression($pattern, $thrown->getMessage(), $label);
            self::assertStringStartsWith('hostbridge: ', $thrown->getMessage(), $label);
            self::assertNoSecret($thrown->getMessage(), $wrong, self::secret());
        }
    }

    // --- ClientArea --------------------------------------------------------------------------

    public function testClientAreaShowsTheDaemonsFragment(): void
    {
        foreach ([501, 503] as $id) {
            $r = hostbridge_ClientArea(self::serverParamsFor() + ['serviceid' => $id, 'password' => 'Cl1ent-Pa55word!xyz']);
            $answer = self::lastDaemonAnswer('ClientArea');
            $entry = self::moduleLog('ClientArea')[count(self::moduleLog('ClientArea')) - 1];
            self::assertSame("/v1/services/{$id}/view?audience=client", $entry['request']['path']);
            // An active hosting service shows its hosting panel below the fragment (HostingPanelTest); a deploying one the fragment alone.
            self::assertSame($id === 501 ? 'templates/hosting-panel.tpl' : 'templates/overview.tpl', $r['tabOverviewModuleOutputTemplate'], "service {$id}: " . json_encode($answer));
            self::assertFileExists(self::MODULE_DIR . '/' . $r['tabOverviewModuleOutputTemplate']);
            self::assertTrue($answer['ok']);
            self::assertIsString($answer['html']);
            self::assertNotSame('', trim($answer['html']));
            self::assertSame($answer['html'], $r['templateVariables']['hostbridgeHtml'], 'the fragment is passed on untouched');
            self::assertSame($answer['state'] ?? '', $r['templateVariables']['hostbridgeState']);
            $refresh = $answer['refresh_s'] ?? null;
            self::assertSame($refresh === null ? null : min(300, max(2, (int) $refresh)), $r['templateVariables']['hostbridgeRefresh']);
            self::assertNoSecret($r, self::secret(), 'Cl1ent-Pa55word!xyz');
        }
        // The deploying service reloads itself; the active one does not.
        self::assertSame('deploying', self::service(503)['state']);
        $deploying = hostbridge_ClientArea(self::serverParamsFor() + ['serviceid' => 503]);
        self::assertIsInt($deploying['templateVariables']['hostbridgeRefresh']);
        self::assertNull(hostbridge_ClientArea(self::serverParamsFor() + ['serviceid' => 501])['templateVariables']['hostbridgeRefresh']);
    }

    public function testClientAreaErrorsShowAPlainMessage(): void
    {
        $wrong = self::wrongSecret();
        $cases = [
            'unknown service' => self::serverParamsFor() + ['serviceid' => 999999],
            'wrong secret' => self::serverParamsFor(null, $wrong) + ['serviceid' => 501],
            'no params' => [],
            'no service id' => self::serverParamsFor(),
        ];
        foreach ($cases as $label => $params) {
            $r = hostbridge_ClientArea($params);
            self::assertSame('templates/error.tpl', $r['tabOverviewModuleOutputTemplate'], $label);
            self::assertFileExists(self::MODULE_DIR . '/templates/error.tpl');
            $message = $r['templateVariables']['hostbridgeError'];
            self::assertMatchesRegularExpression('/cannot be shown right now/', $message, $label);
            self::assertNoSecret($r, $wrong, self::secret());
            self::assertStringNotContainsString('http://', $message, 'no daemon address for clients');
        }
        // The detail is in the Module Log, for staff.
        $log = self::moduleLog('ClientArea');
        self::assertMatchesRegularExpression('/404/', (string) $log[0]['processed']);
    }

    public function testTemplatesPrintTheFragmentRawAndReloadWhileDeploying(): void
    {
        $overview = (string) file_get_contents(self::MODULE_DIR . '/templates/overview.tpl');
        self::assertStringContainsString('{$hostbridgeHtml nofilter}', $overview, 'the daemon escaped the fragment already');
        self::assertMatchesRegularExpression('/\{if \$hostbridgeRefresh\}.*location\.reload\(\).*\{\/if\}/s', $overview);
        $error = (string) file_get_contents(self::MODULE_DIR . '/templates/error.tpl');
        self::assertStringContainsString("{\$hostbridgeError|escape:'html'}", $error);
    }

    // --- AdminServicesTabFields --------------------------------------------------------------

    public function testAdminServicesTabFieldsShowTheAdminFragment(): void
    {
        $r = hostbridge_AdminServicesTabFields(self::serverParamsFor() + ['serviceid' => 501]);
        $answer = self::lastDaemonAnswer('AdminServicesTabFields');
        self::assertSame('/v1/services/501/view?audience=admin', self::moduleLog('AdminServicesTabFields')[0]['request']['path']);
        // The daemon's fragment, then links to the service's panel in the addon (its timeline, tasks and, for hosting, SSL).
        $links = '<p class="hostbridge-admin-links"><a href="addonmodules.php?module=hostbridge&amp;page=services/501&amp;tab=deploy" class="hostbridge-timeline">Timeline</a> · '
            . '<a href="addonmodules.php?module=hostbridge&amp;page=services/501&amp;tab=tasks" class="hostbridge-tasks">Tasks</a>'
            . ' · <a href="addonmodules.php?module=hostbridge&amp;page=services/501&amp;tab=ssl" class="hostbridge-ssl">SSL</a> <span class="text-muted">(Addons › hostbridge)</span></p>';
        self::assertSame(['hostbridge' => $answer['html'] . $links], $r);
        self::assertNotSame('', trim($answer['html']));
        self::assertNoSecret($r, self::secret());
    }

    public function testAdminServicesTabFieldsSayWhyOnError(): void
    {
        $wrong = self::wrongSecret();
        $cases = [
            'unknown service' => [self::serverParamsFor() + ['serviceid' => 999999], '/HTTP 404/'],
            'wrong secret' => [self::serverParamsFor(null, $wrong) + ['serviceid' => 501], '/signature/'],
            'no params' => [[], '/hostname or IP address/'],
            'no service id' => [self::serverParamsFor(), '/service id/'],
        ];
        foreach ($cases as $label => [$params, $pattern]) {
            $r = hostbridge_AdminServicesTabFields($params);
            self::assertSame(['hostbridge'], array_keys($r), $label);
            self::assertMatchesRegularExpression($pattern, $r['hostbridge'], $label);
            self::assertStringNotContainsString("\n", $r['hostbridge'], 'one line');
            self::assertStringNotContainsString('<script', $r['hostbridge']);
            self::assertNoSecret($r, $wrong, self::secret());
        }
    }

    // --- UsageUpdate -------------------------------------------------------------------------

    public function testUsageUpdateWritesTheDaemonsFiguresIntoTblhosting(): void
    {
        $before = self::rowsById();
        self::assertNull(hostbridge_UsageUpdate(self::serverParamsFor()));
        self::assertSame('/v1/usage', self::moduleLog('UsageUpdate')[0]['request']['path']);
        $after = self::rowsById();
        $u = self::usageOf(501);
        self::assertSame([
            'diskusage' => $u['disk_used_mb'], 'disklimit' => $u['disk_limit_mb'],
            'bwusage' => $u['bw_used_mb'], 'bwlimit' => $u['bw_limit_mb'],
            'lastupdate' => date('Y-m-d H:i:s', intdiv($u['collected_at'], 1000)),
        ], array_intersect_key($after[501], array_flip(['diskusage', 'disklimit', 'bwusage', 'bwlimit', 'lastupdate'])));
        self::assertSame($before[502], $after[502], 'a row of another module is never written');
        self::assertSame($before[503], $after[503], 'a service without figures keeps its old ones');
        self::assertSame($before[600], $after[600], 'a service the daemon does not report is left alone');
    }

    public function testUsageUpdateNeverThrows(): void
    {
        $before = self::rowsById();
        $wrong = self::wrongSecret();
        self::assertNull(hostbridge_UsageUpdate(self::serverParamsFor(null, $wrong)));
        self::assertNull(hostbridge_UsageUpdate([]));
        self::assertSame($before, self::rowsById());
        $log = self::moduleLog('UsageUpdate');
        self::assertCount(2, $log);
        self::assertMatchesRegularExpression('/signature/', (string) $log[0]['processed']);
        self::assertContains($wrong, $log[0]['replaceVars']);
        self::assertNoSecret(self::logged($log), $wrong);

        // A database that fails: logged, not thrown.
        Capsule::$failure = new \RuntimeException('SQLSTATE[HY000] [2002] Connection refused');
        self::assertNull(hostbridge_UsageUpdate(self::serverParamsFor()));
        $entries = self::moduleLog('UsageUpdate');
        self::assertCount(4, $entries, 'the call, then the failed write');
        $last = $entries[3];
        self::assertSame('write tblhosting', $last['request']);
        self::assertStringContainsString('cannot store the usage figures in tblhosting: SQLSTATE', (string) $last['processed']);
        self::assertNoSecret(self::logged($GLOBALS['hostbridge_test_module_log']), self::secret());
    }

    private static function rowsById(): array
    {
        $out = [];
        foreach (Capsule::rows('tblhosting') as $row) {
            $out[$row['id']] = $row;
        }
        return $out;
    }

    // --- MetricProvider ----------------------------------------------------------------------

    public function testMetricsAreAConstantListWithoutARemoteCall(): void
    {
        $expected = [
            'disk_mb' => [MetricInterface::TYPE_SNAPSHOT, MegaBytes::class],
            'bandwidth_mb' => [MetricInterface::TYPE_PERIOD_MONTH, MegaBytes::class],
            'mailboxes' => [MetricInterface::TYPE_SNAPSHOT, WholeNumber::class],
            'databases' => [MetricInterface::TYPE_SNAPSHOT, WholeNumber::class],
            'web_domains' => [MetricInterface::TYPE_SNAPSHOT, WholeNumber::class],
            'traffic_in_mb' => [MetricInterface::TYPE_PERIOD_MONTH, MegaBytes::class],
            'traffic_out_mb' => [MetricInterface::TYPE_PERIOD_MONTH, MegaBytes::class],
            'traffic_total_mb' => [MetricInterface::TYPE_PERIOD_MONTH, MegaBytes::class],
        ];
        $lists = [];
        foreach ([[], self::serverParamsFor(), ['serverhostname' => 'nowhere.invalid', 'serverpassword' => 'x-secret-x']] as $params) {
            $provider = hostbridge_MetricProvider($params);
            self::assertInstanceOf(ProviderInterface::class, $provider);
            $metrics = $provider->metrics();
            self::assertSame(array_keys($expected), array_keys($metrics));
            $shape = [];
            foreach ($metrics as $name => $m) {
                self::assertInstanceOf(MetricInterface::class, $m);
                self::assertSame($name, $m->systemName());
                self::assertNotSame('', (string) $m->displayName());
                self::assertNull($m->usage());
                $shape[$name] = [$m->type(), get_class($m->units())];
            }
            self::assertSame($expected, $shape);
            $lists[] = array_map(static fn ($m) => [$m->systemName(), $m->displayName()], $metrics);
        }
        self::assertSame($lists[0], $lists[1]);
        self::assertSame($lists[0], $lists[2]);
        self::assertSame([], $GLOBALS['hostbridge_test_module_log'], 'metrics() made a call');
    }

    public function testUsageIsKeyedByTenantUsername(): void
    {
        $usage = hostbridge_MetricProvider(self::serverParamsFor())->usage();
        self::assertSame('/v1/usage', self::moduleLog('MetricProvider')[0]['request']['path']);
        // gamma503 is deploying and was never measured: no tenant entry.
        self::assertSame(['alpha501', 'beta502'], array_keys($usage));
        foreach ([501 => 'alpha501', 502 => 'beta502'] as $id => $tenant) {
            $u = self::usageOf($id);
            self::assertSame([
                'disk_mb' => (float) $u['disk_used_mb'], 'bandwidth_mb' => (float) $u['bw_used_mb'],
                'mailboxes' => (float) $u['mailboxes'], 'databases' => (float) $u['databases'], 'web_domains' => (float) $u['web_domains'],
            ], self::values(array_diff_key($usage[$tenant], array_flip(['traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb']))), $tenant);
            foreach (['traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb'] as $none) {
                self::assertNull($usage[$tenant][$none]->usage(), 'a hosting tenant has no VM traffic');
            }
            foreach (array_filter($usage[$tenant], static fn ($m) => $m->usage() !== null) as $m) {
                self::assertSame(intdiv($u['collected_at'], 1000), $m->usage()->collectedAt());
            }
        }
    }

    public function testTenantUsageForOneTenant(): void
    {
        $provider = hostbridge_MetricProvider(self::serverParamsFor());
        $u = self::usageOf(501);
        $metrics = $provider->tenantUsage('alpha501');
        self::assertSame(['disk_mb', 'bandwidth_mb', 'mailboxes', 'databases', 'web_domains', 'traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb'], array_keys($metrics));
        self::assertSame((float) $u['disk_used_mb'], $metrics['disk_mb']->usage()->value());
        self::assertSame((float) $u['mailboxes'], $metrics['mailboxes']->usage()->value());
        self::assertSame(MetricInterface::TYPE_PERIOD_MONTH, $metrics['bandwidth_mb']->type());
        foreach (['nobody', 'gamma503', '', null] as $tenant) {
            $none = $provider->tenantUsage($tenant);
            self::assertSame(array_keys($metrics), array_keys($none));
            foreach ($none as $m) {
                self::assertNull($m->usage(), 'no usage for ' . var_export($tenant, true));
            }
        }
    }

    public function testUsageWithAnUnreachableDaemonIsEmptyAndLogged(): void
    {
        $wrong = self::wrongSecret();
        self::assertSame([], hostbridge_MetricProvider(self::serverParamsFor(null, $wrong))->usage());
        self::assertSame([], hostbridge_MetricProvider([])->usage());
        self::assertCount(8, hostbridge_MetricProvider([])->tenantUsage('alpha501'));
        $log = self::moduleLog('MetricProvider');
        self::assertMatchesRegularExpression('/signature/', (string) $log[0]['processed']);
        self::assertNoSecret(self::logged($log), $wrong);
    }

    private static function values(array $metrics): array
    {
        $out = [];
        foreach ($metrics as $name => $m) {
            self::assertInstanceOf(UsageInterface::class, $m->usage(), $name);
            $out[$name] = $m->usage()->value();
        }
        return $out;
    }

    // --- ListAccounts ------------------------------------------------------------------------

    public function testListAccountsMapsTheDaemonsAccounts(): void
    {
        $r = hostbridge_ListAccounts(self::serverParamsFor());
        self::assertTrue($r['success'], json_encode($r));
        $answer = self::lastDaemonAnswer('ListAccounts');
        self::assertSame('/v1/accounts', self::moduleLog('ListAccounts')[0]['request']['path']);
        $byUser = [];
        foreach ($r['accounts'] as $a) {
            self::assertSame(['email', 'username', 'domain', 'uniqueIdentifier', 'product', 'primaryip', 'created', 'status'], array_keys($a));
            $byUser[$a['username']] = $a;
        }
        $daemonAccounts = $answer['accounts'];
        self::assertCount(count($daemonAccounts), $r['accounts']);
        foreach ([501 => Status::ACTIVE, 502 => Status::SUSPENDED, 503 => Status::ACTIVE] as $id => $status) {
            $s = self::service($id);
            self::assertArrayHasKey($s['username'], $byUser);
            $a = $byUser[$s['username']];
            self::assertSame($s['email'], $a['email']);
            self::assertSame($s['domain'], $a['domain']);
            self::assertSame($s['username'], $a['uniqueIdentifier']);
            self::assertSame($status, $a['status']);
            self::assertMatchesRegularExpression('/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/', $a['created']);
        }
        $meta = hostbridge_MetaData();
        self::assertSame('username', $meta['ListAccountsUniqueIdentifierField']);
        self::assertSame('Username', $meta['ListAccountsUniqueIdentifierDisplayName']);
        self::assertSame('Deployment mode', array_keys(hostbridge_ConfigOptions())[0]);
    }

    public function testListAccountsTellsApartTwoProductsOfTheSameMode(): void
    {
        // 501 and 502 are both split services, of two products (7 and 10): WHMCS matches "product"
        // against each product's ListAccountsProductField, which must therefore differ between them.
        $r = hostbridge_ListAccounts(self::serverParamsFor());
        self::assertTrue($r['success'], json_encode($r));
        $product = array_column($r['accounts'], 'product', 'username');
        self::assertSame('split', self::service(501)['mode']);
        self::assertSame('split', self::service(502)['mode']);
        self::assertSame('split-basic', $product[self::service(501)['username']]);
        self::assertSame('split-pro', $product[self::service(502)['username']]);
        // The field WHMCS compares is the Server Sync key, a Module Setting of its own.
        $field = hostbridge_MetaData()['ListAccountsProductField'];
        self::assertMatchesRegularExpression('/^configoption\d+$/', $field);
        $options = array_keys(hostbridge_ConfigOptions());
        self::assertSame('Server Sync key', $options[(int) substr($field, strlen('configoption')) - 1]);
        $rows = ['split-basic' => 7, 'split-pro' => 10];
        foreach ($rows as $key => $id) {
            $matches = array_filter(Capsule::table('tblproducts')->where('servertype', 'hostbridge')->get()->all(), static fn ($p) => ($p->{$field} ?? null) === $key);
            self::assertSame([$id], array_values(array_map(static fn ($p) => $p->id, $matches)), "exactly one product has the key {$key}");
        }
        // A product without a key is reported with a value no product has: its accounts pair with none.
        $unkeyed = $product[self::service(503)['username']];
        self::assertSame('(product 8 has no Server Sync key)', $unkeyed);
    }

    public function testListAccountsFailuresAreReadable(): void
    {
        $wrong = self::wrongSecret();
        foreach ([[self::serverParamsFor(null, $wrong), '/signature/'], [[], '/hostname or IP address/']] as [$params, $pattern]) {
            $r = hostbridge_ListAccounts($params);
            self::assertSame(['success', 'error'], array_keys($r));
            self::assertFalse($r['success']);
            self::assertMatchesRegularExpression($pattern, $r['error']);
            self::assertNoSecret($r, $wrong, self::secret());
        }
    }

    public function testListAccountsOutsideWhmcsFallsBackToStatusStrings(): void
    {
        // A PHP process with no WHMCS class at all: WHMCS\Service\Status and Capsule are missing.
        $script = 'define("WHMCS", true); function logModuleCall() {} require ' . var_export(self::MODULE_DIR . '/hostbridge.php', true) . ';'
            . ' echo json_encode(hostbridge_ListAccounts(json_decode(getenv("HB_PARAMS"), true)));';
        $cmd = escapeshellarg(PHP_BINARY) . ' -d display_errors=stderr -r ' . escapeshellarg($script);
        $env = ['HB_PARAMS' => json_encode(self::serverParamsFor()), 'PATH' => (string) getenv('PATH')];
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        self::assertIsResource($proc);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($proc), $err);
        $r = json_decode((string) $out, true);
        self::assertTrue($r['success'] ?? false, (string) $out . $err);
        $status = array_column($r['accounts'], 'status', 'username');
        self::assertSame('Active', $status[self::service(501)['username']]);
        self::assertSame('Suspended', $status[self::service(502)['username']]);
        self::assertSame([''], array_values(array_unique(array_column($r['accounts'], 'product'))), 'no Capsule, no product hint');
    }
}
