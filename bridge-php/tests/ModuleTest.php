<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\DaemonClient;

/**
 * The module against a real daemon. HOSTBRIDGE_TEST_DAEMON_URL (e.g. http://127.0.0.1:40123) and
 * HOSTBRIDGE_TEST_SECRET name it, HOSTBRIDGE_TEST_HTML_URL a web server that is not the daemon,
 * HOSTBRIDGE_TEST_SILENT_URL a server that never answers;
 * without them every test that needs them fails (none is skipped).
 */
final class ModuleTest extends TestCase
{
    private const PASSWORD = 'Cl1ent-Pa55word!xyz';

    /** Every function WHMCS may call with a service's $params, and the type it must return. */
    private const SERVICE_FUNCTIONS = [
        'hostbridge_CreateAccount' => 'string',
        'hostbridge_SuspendAccount' => 'string',
        'hostbridge_UnsuspendAccount' => 'string',
        'hostbridge_TerminateAccount' => 'string',
        'hostbridge_ChangePackage' => 'string',
        'hostbridge_ChangePassword' => 'string',
        'hostbridge_Redeploy' => 'string',
        'hostbridge_VerifyRepair' => 'string',
        'hostbridge_ForceTerminate' => 'string',
        'hostbridge_SyncUsage' => 'string',
        'hostbridge_StartVm' => 'string',
        'hostbridge_StopVm' => 'string',
        'hostbridge_RebootVm' => 'string',
        'hostbridge_TestConnection' => 'array',
        'hostbridge_MetaData' => 'array',
        'hostbridge_ConfigOptions' => 'array',
        'hostbridge_AdminCustomButtonArray' => 'array',
        'hostbridge_ClientArea' => 'array',
        'hostbridge_AdminServicesTabFields' => 'array',
        'hostbridge_ListAccounts' => 'array',
        'hostbridge_UsageUpdate' => 'NULL',
        'hostbridge_MetricProvider' => 'object',
        // The addon module's functions share the process (and the hostbridge_ prefix).
        'hostbridge_config' => 'array',
        'hostbridge_activate' => 'array',
        'hostbridge_deactivate' => 'array',
    ];

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
        \WHMCS\Database\Capsule::reset();
    }

    use DaemonEnv;

    /** The server* params of a WHMCS server record pointing at the test daemon. */
    private static function serverParams(?string $secret = null): array
    {
        return self::serverParamsFor(null, $secret);
    }

    /** Full $params of a service, as WHMCS passes them. */
    private static function serviceParams(array $server): array
    {
        return $server + [
            'serviceid' => 4711,
            'userid' => 12,
            'pid' => 3,
            'domain' => 'example.test',
            'username' => 'exampl01',
            'password' => self::PASSWORD,
            'producttype' => 'hostingaccount',
            'moduletype' => 'hostbridge',
            'configoption1' => 'split',
            'configoption2' => '2',
            'configoption3' => 'on',
            'configoption4' => 'on',
            'configoption5' => '',
            'configoption6' => '2048',
            'configoption7' => '1024',
            'configoptions' => ['Extra disk' => 5],
            'customfields' => ['Notes' => 'hi'],
            'suspendreason' => 'Overdue on Payment',
        ];
    }

    private static function logFor(string $action): array
    {
        $entries = array_values(array_filter($GLOBALS['hostbridge_test_module_log'], static fn ($e) => $e['action'] === $action));
        self::assertNotEmpty($entries, "logModuleCall was not called for {$action}");
        return $entries;
    }

    // -----------------------------------------------------------------------------------------

    public function testMetaData(): void
    {
        $meta = hostbridge_MetaData();
        self::assertSame('1.1', $meta['APIVersion']);
        self::assertTrue($meta['RequiresServer']);
        self::assertSame('8740', (string) $meta['DefaultNonSSLPort']);
        self::assertSame('443', (string) $meta['DefaultSSLPort']);
        self::assertFalse($meta['ServiceSingleSignOnLabel']);
        self::assertNotSame('', (string) $meta['DisplayName']);
    }

    public function testConfigOptionsKeepTheirPositions(): void
    {
        $options = hostbridge_ConfigOptions();
        // configoptionN is stored by position in tblproducts: 1..14 never move, new ones are appended (15: KVM profile).
        self::assertSame(
            ['Deployment mode', 'Server group', 'Web', 'Mail', 'DNS', 'Web disk quota (MB)', 'Mail disk quota (MB)',
                'Web bandwidth (MB)', 'Web domains', 'Databases', 'Mail accounts', 'Vanity site quota (MB)', 'Vanity mailbox quota (MB)',
                'Server Sync key', 'KVM profile', 'Hosting plan'],
            array_keys($options),
        );
        self::assertSame(
            ['dropdown', 'dropdown', 'yesno', 'yesno', 'yesno', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'dropdown', 'dropdown'],
            array_column(array_values($options), 'Type'),
        );
        // The modes of 1..3 keep their values and order; kvm is appended.
        self::assertSame('split,unified,vanity,kvm', $options['Deployment mode']['Options']);
        self::assertSame('hostbridge_LoaderServerGroups', $options['Server group']['Loader']);
        self::assertTrue(function_exists($options['Server group']['Loader']));
        self::assertSame(
            ['Web bandwidth (MB)' => 'unlimited', 'Web domains' => '1', 'Databases' => 'unlimited', 'Mail accounts' => 'unlimited',
                'Vanity site quota (MB)' => '1024', 'Vanity mailbox quota (MB)' => '1024', 'Server Sync key' => ''],
            array_map(static fn ($o) => $o['Default'], array_slice($options, 7, 7)),
        );
        self::assertLessThanOrEqual(24, count($options));
        foreach ($options as $name => $def) {
            self::assertSame($name, $def['FriendlyName']);
            self::assertNotSame('', $def['Description'] ?? '');
        }
        // Role gating and the overriding configurable options are told where the admin reads them.
        foreach (['Web disk quota (MB)' => 'web_disk_quota', 'Mail disk quota (MB)' => 'mail_disk_quota'] as $name => $option) {
            self::assertMatchesRegularExpression('/unlimited/', $options[$name]['Description']);
            self::assertMatchesRegularExpression('/0 disables the (web|mail) role/', $options[$name]['Description']);
            self::assertStringContainsString($option, $options[$name]['Description']);
        }
        foreach (['Web bandwidth (MB)' => 'web_bandwidth', 'Web domains' => 'web_domains', 'Databases' => 'databases', 'Mail accounts' => 'mail_accounts'] as $name => $option) {
            self::assertStringContainsString("configurable option {$option}", $options[$name]['Description']);
        }
        self::assertStringContainsString('vanity_domain', $options['Deployment mode']['Description']);
        self::assertStringContainsString('vanity_name', $options['Deployment mode']['Description']);
    }

    public function testTheLoaderThrowsOnEmptyOrPartialParams(): void
    {
        foreach ([[], ['serviceid' => 9], ['serverhostname' => '127.0.0.1', 'serverport' => '1']] as $params) {
            $thrown = null;
            try {
                hostbridge_LoaderServerGroups($params);
            } catch (\Exception $e) {
                $thrown = $e;
            }
            // Asserted outside the catch: PHPUnit's failures are Exceptions too, and the catch would swallow them.
            self::assertNotNull($thrown, 'the loader returned without a daemon: ' . json_encode($params));
            self::assertStringStartsWith('hostbridge: ', $thrown->getMessage());
        }
    }

    public function testAdminCustomButtonsMapToFunctions(): void
    {
        $buttons = hostbridge_AdminCustomButtonArray();
        self::assertSame(['Redeploy', 'Verify & Repair', 'Force terminate', 'Sync usage'], array_keys($buttons));
        foreach ($buttons as $suffix) {
            self::assertTrue(function_exists('hostbridge_' . $suffix), "hostbridge_{$suffix} is not defined");
        }
    }

    public function testBaseUrlFromTheServerRecord(): void
    {
        self::assertSame('http://daemon.example:8740', DaemonClient::baseUrlFor('daemon.example', '', ''));
        self::assertSame('https://daemon.example:443', DaemonClient::baseUrlFor('daemon.example', '443', 'on'));
        self::assertSame('https://daemon.example:8740', DaemonClient::baseUrlFor('daemon.example', null, true));
        self::assertSame('http://10.0.0.5:9000', DaemonClient::baseUrlFor('10.0.0.5', 9000, false));
        self::assertSame('http://[::1]:8740', DaemonClient::baseUrlFor('::1', '', ''));
        self::assertSame('https://d.example:8443', DaemonClient::baseUrlFor('https://d.example:8443/', '', ''));
        // serverhostname wins over serverip; serverip is used when the hostname is empty.
        self::assertSame('http://h.example:8740', DaemonClient::fromParams(['serverhostname' => 'h.example', 'serverip' => '10.0.0.1', 'serverpassword' => 's'])->baseUrl());
        self::assertSame('http://10.0.0.1:8741', DaemonClient::fromParams(['serverhostname' => '', 'serverip' => '10.0.0.1', 'serverport' => 8741, 'serverpassword' => 's'])->baseUrl());
    }

    public function testSignatureHeadersFollowTheDocumentedScheme(): void
    {
        $h = DaemonClient::signatureHeaders('k', 'post', '/v1/tick', '{}', 1700000000, str_repeat('ab', 16));
        $expected = 'v1=' . hash_hmac('sha256', "POST\n/v1/tick\n1700000000\n" . str_repeat('ab', 16) . "\n" . hash('sha256', '{}'), 'k');
        self::assertSame(['X-Hostbridge-Timestamp' => '1700000000', 'X-Hostbridge-Nonce' => str_repeat('ab', 16), 'X-Hostbridge-Signature' => $expected], $h);
        $fresh = DaemonClient::signatureHeaders('k', 'GET', '/v1/status', '');
        self::assertMatchesRegularExpression('/^[0-9a-f]{32}$/', $fresh['X-Hostbridge-Nonce']);
        self::assertNotSame($fresh['X-Hostbridge-Nonce'], DaemonClient::signatureHeaders('k', 'GET', '/v1/status', '')['X-Hostbridge-Nonce']);
    }

    public function testTestConnectionSucceedsWithTheRightSecret(): void
    {
        $r = hostbridge_TestConnection(self::serverParams());
        self::assertTrue($r['success']);
        self::assertSame('', $r['error']);
        $log = self::logFor('TestConnection');
        self::assertSame('hostbridge', $log[0]['module']);
        self::assertContains(self::env('HOSTBRIDGE_TEST_SECRET'), $log[0]['replaceVars']);
    }

    public function testTestConnectionWithAWrongSecretNamesTheSignature(): void
    {
        $wrong = 'wrong-secret-' . bin2hex(random_bytes(12));
        $r = hostbridge_TestConnection(self::serverParams($wrong));
        self::assertFalse($r['success']);
        self::assertIsString($r['error']);
        self::assertMatchesRegularExpression('/signature/i', $r['error']);
        self::assertStringContainsString('HOSTBRIDGE_SECRET', $r['error']);
        self::assertStringNotContainsString($wrong, $r['error']);
        self::assertStringNotContainsString(self::env('HOSTBRIDGE_TEST_SECRET'), $r['error']);
        $log = self::logFor('TestConnection');
        self::assertContains($wrong, $log[0]['replaceVars']);
        self::assertStringNotContainsString($wrong, json_encode($log[0]['request']));
    }

    public function testTestConnectionAgainstAClosedPortSaysCannotReachQuickly(): void
    {
        $port = self::closedPortNumber();
        $params = ['serverhostname' => '127.0.0.1', 'serverport' => (string) $port, 'serversecure' => '', 'serverpassword' => 'whatever-secret-value'];
        $t0 = microtime(true);
        $r = hostbridge_TestConnection($params);
        $elapsed = microtime(true) - $t0;
        self::assertFalse($r['success']);
        self::assertStringContainsString("cannot reach the hostbridge daemon at http://127.0.0.1:{$port}", $r['error']);
        self::assertStringNotContainsString('whatever-secret-value', $r['error']);
        self::assertLessThan(4.0, $elapsed, 'a refused connection must fail within the connect timeout');

        $action = hostbridge_CreateAccount(self::serviceParams($params));
        self::assertStringStartsWith('hostbridge: cannot reach the hostbridge daemon', $action);
    }

    public function testAServerThatIsNotTheDaemonGetsAClearMessage(): void
    {
        // HOSTBRIDGE_TEST_HTML_URL: a plain web server answering HTML (started by bridge.test.ts).
        $url = parse_url(self::env('HOSTBRIDGE_TEST_HTML_URL'));
        $params = ['serverhostname' => $url['host'] ?? '', 'serverport' => (string) ($url['port'] ?? 80), 'serverpassword' => 'some-secret-value', 'serviceid' => 5];
        $r = hostbridge_TestConnection($params);
        self::assertFalse($r['success']);
        self::assertStringContainsString('not the hostbridge daemon', $r['error']);
        self::assertStringContainsString('check the host and port', $r['error']);
        self::assertStringContainsString('It works', $r['error'], 'the message quotes the start of the answer, tags stripped');
        self::assertStringNotContainsString('<', $r['error']);
        self::assertStringNotContainsString('some-secret-value', $r['error']);
        self::assertStringStartsWith('hostbridge: the server at http://', hostbridge_UnsuspendAccount($params));
    }

    public function testADaemonThatNeverAnswersIsGivenUpAfterTenSeconds(): void
    {
        // HOSTBRIDGE_TEST_SILENT_URL: a server that accepts the connection and never answers.
        $url = parse_url(self::env('HOSTBRIDGE_TEST_SILENT_URL'));
        $params = ['serverhostname' => $url['host'] ?? '', 'serverport' => (string) ($url['port'] ?? 80), 'serverpassword' => 'some-secret-value', 'serviceid' => 5];
        $t0 = microtime(true);
        $r = hostbridge_TerminateAccount($params);
        $elapsed = microtime(true) - $t0;
        self::assertStringStartsWith('hostbridge: the hostbridge daemon at http://', $r);
        self::assertStringContainsString('did not answer within 10 s', $r);
        self::assertGreaterThan(9.0, $elapsed);
        self::assertLessThan(12.0, $elapsed, 'the total timeout is 10 s');
    }

    public function testEveryFunctionSurvivesEmptyParams(): void
    {
        foreach (self::SERVICE_FUNCTIONS as $fn => $type) {
            $r = $fn([]);
            self::assertSame($type, gettype($r), "{$fn}([]) must return a {$type}");
            if ($type === 'string') {
                self::assertNotSame('success', $r, "{$fn}([]) cannot succeed");
                self::assertStringStartsWith('hostbridge: ', $r);
            }
        }
        $r = hostbridge_TestConnection([]);
        self::assertFalse($r['success']);
        self::assertMatchesRegularExpression('/hostname or IP address/', $r['error']);
    }

    public function testEveryFunctionSurvivesPartialParams(): void
    {
        $server = self::serverParams();
        $partials = [
            'server only' => $server,
            'no secret' => ['serverhostname' => $server['serverhostname'], 'serverport' => $server['serverport']],
            'service id only' => ['serviceid' => 9],
            'odd types' => $server + [
                'serviceid' => '17', 'userid' => null, 'pid' => 'abc', 'domain' => ['x'], 'password' => null,
                'configoptions' => 'not an array', 'customfields' => null, 'configoption2' => new stdClass(),
                'serverport' => 'not-a-port-' . $server['serverport'], 'serversecure' => 'off',
            ],
            'no service id' => self::serviceParams($server) + ['serviceid' => null],
        ];
        $partials['no service id']['serviceid'] = '';
        foreach ($partials as $label => $params) {
            foreach (self::SERVICE_FUNCTIONS as $fn => $type) {
                $r = $fn($params);
                self::assertSame($type, gettype($r), "{$fn} with {$label} params must return a {$type}");
                if ($type === 'string' && $fn !== 'hostbridge_MetaData') {
                    self::assertNotSame('success', $r, "{$fn} with {$label} params");
                    self::assertStringStartsWith('hostbridge: ', $r, "{$fn} with {$label} params");
                    self::assertStringNotContainsString($server['serverpassword'], $r);
                }
            }
        }
        self::assertSame(
            'hostbridge: the service id (serviceid) is missing from the module parameters',
            hostbridge_SuspendAccount($partials['no service id']),
        );
        self::assertMatchesRegularExpression('/HOSTBRIDGE_SECRET/', hostbridge_TerminateAccount($partials['no secret']));
    }

    public function testLifecycleCallsReachTheDaemonAndReturnItsError(): void
    {
        // Service 4711 is unknown to the daemon and group 2 has no server (bridge.test.ts seeds it so):
        // correctly signed requests get the daemon's own refusal (a bad signature would get a 401 first).
        $params = self::serviceParams(self::serverParams());
        $r = hostbridge_CreateAccount($params);
        self::assertIsString($r);
        self::assertNotSame('success', $r);
        // The daemon's text names the field it blames; the module does not repeat it.
        self::assertMatchesRegularExpression('/^hostbridge: the daemon answered HTTP 422: server_group_id: server group .+$/', $r);
        self::assertStringNotContainsString('(field: ', $r);
        self::assertStringNotContainsString('signature', $r);

        foreach (['SuspendAccount', 'UnsuspendAccount', 'TerminateAccount', 'ChangePackage', 'ChangePassword', 'Redeploy', 'VerifyRepair', 'ForceTerminate', 'SyncUsage'] as $action) {
            $out = ('hostbridge_' . $action)($params);
            self::assertMatchesRegularExpression('/^hostbridge: the daemon answered HTTP 404: .*4711/', $out, $action);
            $log = self::logFor($action);
            self::assertSame('POST', $log[0]['request']['method']);
            self::assertStringStartsWith('/v1/services/4711', $log[0]['request']['path'], $action);
        }
        $paths = array_map(static fn ($e) => $e['action'] . ' ' . $e['request']['path'], $GLOBALS['hostbridge_test_module_log']);
        self::assertSame([
            'CreateAccount /v1/services',
            'SuspendAccount /v1/services/4711/suspend',
            'UnsuspendAccount /v1/services/4711/unsuspend',
            'TerminateAccount /v1/services/4711/terminate',
            'ChangePackage /v1/services/4711/change-package',
            'ChangePassword /v1/services/4711/change-password',
            'Redeploy /v1/services/4711/actions/redeploy',
            'VerifyRepair /v1/services/4711/actions/verify-repair',
            'ForceTerminate /v1/services/4711/actions/force-terminate',
            'SyncUsage /v1/services/4711/actions/sync-usage',
        ], $paths);
    }

    public function testCreateAccountSucceedsAtOnceAndARepeatCreatesNothing(): void
    {
        // Group 1 has a web and a mail node (bridge.test.ts seeds them); DNS is not ticked.
        $server = self::serverParams();
        $params = ['serviceid' => 4800, 'configoption2' => '1', 'domain' => 'fleet4800.example.com'] + self::serviceParams($server);
        $t0 = hrtime(true);
        $r = hostbridge_CreateAccount($params);
        $ms = (hrtime(true) - $t0) / 1e6;
        self::assertSame('success', $r);
        self::assertLessThan(1000.0, $ms, "CreateAccount took {$ms} ms");
        $client = DaemonClient::fromParams($server);
        $first = $client->request('GET', '/v1/services/4800', null)['data']['service'];
        self::assertSame('deploying', $first['state']);
        self::assertSame('split', $first['mode']);
        self::assertSame('fleet4800.example.com', $first['domain']);
        self::assertSame('deploy', $first['progress']['operation']);
        self::assertSame(8, $first['progress']['total'], 'web package, user and domain; mail package, user and domain; SSL set-up of web and of mail');
        self::assertSame(['mail', 'web'], array_column($first['accounts'], 'role'));

        self::assertSame('success', hostbridge_CreateAccount($params));
        $again = $client->request('GET', '/v1/services/4800', null)['data']['service'];
        self::assertSame($first['progress']['chain_id'], $again['progress']['chain_id'], 'the repeat must not add a chain');
        self::assertSame($first['created_at'], $again['created_at']);
        $accounts = $client->request('GET', '/v1/accounts', null)['data']['accounts'];
        self::assertCount(1, array_filter($accounts, static fn (array $a): bool => $a['whmcs_service_id'] === 4800));
    }

    public function testCreateAccountBodyAndLogMasking(): void
    {
        $secret = self::env('HOSTBRIDGE_TEST_SECRET');
        hostbridge_CreateAccount(self::serviceParams(self::serverParams()));
        $entry = self::logFor('CreateAccount')[0];
        self::assertSame('hostbridge', $entry['module']);
        self::assertContains($secret, $entry['replaceVars'], 'the shared secret must be in the mask list');
        self::assertContains(self::PASSWORD, $entry['replaceVars'], 'the account password must be in the mask list');
        foreach (['request', 'response', 'processed'] as $part) {
            $text = json_encode($entry[$part]);
            self::assertStringNotContainsString($secret, $text, "the logged {$part} contains the secret");
            self::assertStringNotContainsString(self::PASSWORD, $text, "the logged {$part} contains the password");
        }
        $body = json_decode(json_encode($entry['request']['body']), true);
        self::assertSame(
            ['whmcs_service_id', 'client_id', 'product_id', 'domain', 'username', 'password', 'email', 'server_group_id', 'product', 'config_options', 'custom_fields'],
            array_keys($body),
        );
        self::assertSame(4711, $body['whmcs_service_id']);
        self::assertSame(12, $body['client_id']);
        self::assertSame(3, $body['product_id']);
        self::assertSame(2, $body['server_group_id']);
        self::assertSame('example.test', $body['domain']);
        self::assertSame('********', $body['password']);
        self::assertSame('split', $body['product']['configoption1']);
        self::assertCount(24, $body['product']);
        self::assertSame(['Extra disk' => 5], $body['config_options']);
        self::assertSame(['Notes' => 'hi'], $body['custom_fields']);

        hostbridge_ChangePassword(self::serviceParams(self::serverParams()));
        $entry = self::logFor('ChangePassword')[0];
        self::assertContains(self::PASSWORD, $entry['replaceVars']);
        self::assertStringNotContainsString(self::PASSWORD, json_encode($entry['request']));
    }
}
