<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\MetricsProvider;
use WHMCS\Module\Server\Hostbridge\UsageReport;
use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;

/**
 * A VM's traffic in the usage report and the metric provider, from the answer GET /v1/usage gives
 * for a KVM service (its month's traffic beside the metrics) and for a hosting one (unchanged):
 * the VM's tenant gets traffic in, out and total and bandwidth as the total, nothing for the
 * hosting-only metrics; the hosting tenant gets what it always had and no traffic.
 */
final class UsageTrafficTest extends TestCase
{
    private const COLLECTED = 1796000000000;

    private static function answer(): array
    {
        return ['ok' => true, 'services' => [
            [
                'whmcs_service_id' => 501, 'username' => 'alpha501', 'domain' => 'alpha.example.com',
                'disk_used_mb' => 120, 'disk_limit_mb' => 1000, 'bw_used_mb' => 33, 'bw_limit_mb' => 5000, 'collected_at' => self::COLLECTED,
                'metrics' => ['disk_mb' => 120, 'bandwidth_mb' => 33, 'mailboxes' => 2, 'databases' => 1, 'web_domains' => 3],
            ],
            [
                'whmcs_service_id' => 8101, 'username' => 'u8101', 'domain' => 'vm1.example.org',
                'disk_used_mb' => 0, 'disk_limit_mb' => 0, 'bw_used_mb' => 1953, 'bw_limit_mb' => 0, 'collected_at' => self::COLLECTED + 60000,
                'metrics' => ['disk_mb' => 0, 'bandwidth_mb' => 1953.125, 'mailboxes' => 0, 'databases' => 0, 'web_domains' => 0,
                    'traffic_in_mb' => 390.625, 'traffic_out_mb' => 1562.5, 'traffic_total_mb' => 1953.125],
                'traffic' => ['period' => '2026-12', 'in_bytes' => 409600000, 'out_bytes' => 1638400000, 'total_bytes' => 2048000000],
            ],
            // A VM not collected yet: no tenant entry.
            [
                'whmcs_service_id' => 8102, 'username' => 'u8102', 'domain' => 'vm2.example.org', 'collected_at' => null,
                'metrics' => ['traffic_total_mb' => 0], 'traffic' => ['period' => '2026-12', 'in_bytes' => 0, 'out_bytes' => 0, 'total_bytes' => 0],
            ],
        ]];
    }

    private static function provider(array $answer): MetricsProvider
    {
        hostbridge_MetricProvider([]); // loads the class as WHMCS would
        return new MetricsProvider(static fn (): array => UsageReport::parse($answer));
    }

    /** @return array<string, float|null> */
    private static function values(array $metrics): array
    {
        return array_map(static fn (MetricInterface $m) => $m->usage() === null ? null : $m->usage()->value(), $metrics);
    }

    public function testParseKeepsTheTrafficMetricsAndMarksVms(): void
    {
        $rows = UsageReport::parse(self::answer());
        self::assertSame([false, true, true], array_column($rows, 'vm'));
        self::assertSame(['traffic_in_mb' => 390.625, 'traffic_out_mb' => 1562.5, 'traffic_total_mb' => 1953.125],
            array_intersect_key($rows[1]['metrics'], array_flip(['traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb'])));
        self::assertSame(1953, $rows[1]['bw_used_mb'], 'UsageUpdate writes the month\'s traffic as bwusage');
        self::assertNull($rows[0]['metrics']['traffic_total_mb'], 'a hosting service reports no traffic');
        // Nonsense from the daemon never reaches WHMCS as a number.
        $bad = self::answer();
        $bad['services'][1]['metrics']['traffic_in_mb'] = -5;
        $bad['services'][1]['metrics']['traffic_out_mb'] = 'lots';
        $rows = UsageReport::parse($bad);
        self::assertNull($rows[1]['metrics']['traffic_in_mb']);
        self::assertNull($rows[1]['metrics']['traffic_out_mb']);
    }

    public function testAVmTenantGetsItsTrafficAndNoHostingMetrics(): void
    {
        $usage = self::provider(self::answer())->usage();
        self::assertSame(['alpha501', 'u8101'], array_keys($usage));
        self::assertSame([
            'disk_mb' => null, 'bandwidth_mb' => 1953.125, 'mailboxes' => null, 'databases' => null, 'web_domains' => null,
            'traffic_in_mb' => 390.625, 'traffic_out_mb' => 1562.5, 'traffic_total_mb' => 1953.125,
        ], self::values($usage['u8101']));
        self::assertSame(intdiv(self::COLLECTED + 60000, 1000), $usage['u8101']['traffic_total_mb']->usage()->collectedAt());
        foreach (['traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb'] as $name) {
            self::assertSame(MetricInterface::TYPE_PERIOD_MONTH, $usage['u8101'][$name]->type(), $name);
        }
    }

    public function testAHostingTenantIsUnchanged(): void
    {
        $provider = self::provider(self::answer());
        self::assertSame([
            'disk_mb' => 120.0, 'bandwidth_mb' => 33.0, 'mailboxes' => 2.0, 'databases' => 1.0, 'web_domains' => 3.0,
            'traffic_in_mb' => null, 'traffic_out_mb' => null, 'traffic_total_mb' => null,
        ], self::values($provider->tenantUsage('alpha501')));
        self::assertSame(array_fill_keys(array_keys($provider->metrics()), null), self::values($provider->tenantUsage('u8102')), 'not collected yet');
    }
}
