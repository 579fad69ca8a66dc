<?php
/**
 * Usage metrics for WHMCS usage billing (7.9+). metrics() is called where no server is known (the
 * product's Metric Billing settings), so it is a constant list built without any remote call;
 * usage() and tenantUsage() read the daemon's usage report through the fetcher given by
 * hostbridge_MetricProvider(). Tenants are service usernames (MetaData ListAccountsUniqueIdentifierField).
 * The list is one for every product (WHMCS asks without a server): hosting products leave the traffic
 * metrics off, KVM products the hosting ones; a hosting tenant's traffic metrics carry no usage.
 */

namespace WHMCS\Module\Server\Hostbridge;

use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;
use WHMCS\UsageBilling\Metrics\Metric;
use WHMCS\UsageBilling\Metrics\Units\MegaBytes;
use WHMCS\UsageBilling\Metrics\Units\WholeNumber;
use WHMCS\UsageBilling\Metrics\Usage;

final class MetricsProvider implements ProviderInterface
{
    /** @var callable(): array the rows of UsageReport::parse(); throws on failure */
    private $fetch;

    public function __construct(callable $fetch)
    {
        $this->fetch = $fetch;
    }

    /** @return array<string, MetricInterface> keyed by system name; the names are stored by WHMCS, never rename them */
    public function metrics()
    {
        return [
            // Disk, mailboxes, databases and domains are what the service holds now: snapshots.
            'disk_mb' => new Metric('disk_mb', 'Disk space', MetricInterface::TYPE_SNAPSHOT, new MegaBytes()),
            // Bandwidth accumulates over the month and restarts: a monthly period.
            'bandwidth_mb' => new Metric('bandwidth_mb', 'Bandwidth', MetricInterface::TYPE_PERIOD_MONTH, new MegaBytes()),
            'mailboxes' => new Metric('mailboxes', 'Mailboxes', MetricInterface::TYPE_SNAPSHOT, new WholeNumber('Mailboxes', 'Mailbox', 'Mailboxes')),
            'databases' => new Metric('databases', 'Databases', MetricInterface::TYPE_SNAPSHOT, new WholeNumber('Databases', 'Database', 'Databases')),
            'web_domains' => new Metric('web_domains', 'Web domains', MetricInterface::TYPE_SNAPSHOT, new WholeNumber('Web domains', 'Domain', 'Domains')),
            // A VM's network traffic from Proxmox's RRD data, counted per calendar month: monthly periods.
            'traffic_in_mb' => new Metric('traffic_in_mb', 'Traffic in', MetricInterface::TYPE_PERIOD_MONTH, new MegaBytes()),
            'traffic_out_mb' => new Metric('traffic_out_mb', 'Traffic out', MetricInterface::TYPE_PERIOD_MONTH, new MegaBytes()),
            'traffic_total_mb' => new Metric('traffic_total_mb', 'Traffic (in + out)', MetricInterface::TYPE_PERIOD_MONTH, new MegaBytes()),
        ];
    }

    /**
     * Every tenant's metrics with usage attached. An unreachable daemon gives [] (the failure is in
     * the Module Log): WHMCS's cron then keeps the figures it had rather than storing zeros.
     *
     * @return array<string, array<string, MetricInterface>>
     */
    public function usage()
    {
        $out = [];
        foreach ($this->rows() as $row) {
            if ($row['username'] === '' || $row['collected_at'] === null) {
                continue;
            }
            $out[$row['username']] = $this->withUsage($row);
        }
        return $out;
    }

    /** @return array<string, MetricInterface> the tenant's metrics; without usage when the daemon has none */
    public function tenantUsage($tenant)
    {
        $tenant = Text::str($tenant);
        if ($tenant !== '') {
            foreach ($this->rows() as $row) {
                if ($row['username'] === $tenant && $row['collected_at'] !== null) {
                    return $this->withUsage($row);
                }
            }
        }
        return $this->metrics();
    }

    private function rows(): array
    {
        try {
            return ($this->fetch)();
        } catch (\Throwable $e) {
            return [];
        }
    }

    private function withUsage(array $row): array
    {
        $collected = intdiv((int) $row['collected_at'], 1000);
        $out = [];
        foreach ($this->metrics() as $name => $metric) {
            // A VM has no mailboxes, databases or hosting disk: only its traffic metrics carry usage.
            $value = !empty($row['vm']) && !in_array($name, UsageReport::VM_METRICS, true) ? null : ($row['metrics'][$name] ?? null);
            $out[$name] = $value === null ? $metric : $metric->withUsage(new Usage((float) $value, $collected));
        }
        return $out;
    }
}
