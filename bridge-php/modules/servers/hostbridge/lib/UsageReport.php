<?php
/**
 * The daemon's usage report (GET /v1/usage), fetched, checked and normalised once for UsageUpdate and
 * the metric provider: whatever the daemon sends, the module only ever sees whole, non-negative numbers.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class UsageReport
{
    /** The metric system names the daemon reports in "metrics" (also the WHMCS metric names). */
    public const METRICS = ['disk_mb', 'bandwidth_mb', 'mailboxes', 'databases', 'web_domains', 'traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb'];

    /** What a VM (a KVM service, reported with "traffic") has: its network traffic, and bandwidth as the total of it. */
    public const VM_METRICS = ['bandwidth_mb', 'traffic_in_mb', 'traffic_out_mb', 'traffic_total_mb'];

    /**
     * The report, normalised; every failure is in the Module Log under $action.
     *
     * @throws DaemonError when the daemon cannot be asked or answers nonsense
     */
    public static function fetch(array $params, string $action): array
    {
        $r = Calls::run($params, $action, 'GET', '/v1/usage', null);
        if (!$r['ok']) {
            throw new DaemonError($r['error']);
        }
        try {
            return self::parse($r['data']);
        } catch (DaemonError $e) {
            ModuleLog::failure($action, 'GET /v1/usage', 'hostbridge: ' . $e->getMessage(), $params);
            throw $e;
        }
    }

    /**
     * @return list<array{service_id:int, username:string, domain:string, disk_used_mb:int, disk_limit_mb:int,
     *   bw_used_mb:int, bw_limit_mb:int, collected_at:?int, metrics:array<string, float|null>, vm:bool}>
     * @throws DaemonError when the answer has no list of services
     */
    public static function parse(array $answer): array
    {
        $services = $answer['services'] ?? null;
        if (!is_array($services)) {
            throw new DaemonError('the daemon\'s answer to GET /v1/usage has no list of services');
        }
        $out = [];
        foreach ($services as $s) {
            if (!is_array($s)) {
                continue;
            }
            $id = self::whole($s['whmcs_service_id'] ?? null);
            if ($id === null || $id <= 0) {
                continue;
            }
            $metrics = [];
            $m = is_array($s['metrics'] ?? null) ? $s['metrics'] : [];
            foreach (self::METRICS as $name) {
                $metrics[$name] = self::number($m[$name] ?? null);
            }
            // The flat figures stand in for a metric the daemon left out, and the reverse.
            $metrics['disk_mb'] ??= self::number($s['disk_used_mb'] ?? null);
            $metrics['bandwidth_mb'] ??= self::number($s['bw_used_mb'] ?? null);
            $out[] = [
                'service_id' => $id,
                'username' => Text::str($s['username'] ?? ''),
                'domain' => Text::str($s['domain'] ?? ''),
                'disk_used_mb' => self::whole($s['disk_used_mb'] ?? null) ?? (int) round($metrics['disk_mb'] ?? 0),
                'disk_limit_mb' => self::whole($s['disk_limit_mb'] ?? null) ?? 0,
                'bw_used_mb' => self::whole($s['bw_used_mb'] ?? null) ?? (int) round($metrics['bandwidth_mb'] ?? 0),
                'bw_limit_mb' => self::whole($s['bw_limit_mb'] ?? null) ?? 0,
                'collected_at' => self::whole($s['collected_at'] ?? null),
                'metrics' => $metrics,
                // A KVM service: the daemon reports its month's traffic (bytes) beside the metrics.
                'vm' => is_array($s['traffic'] ?? null),
            ];
        }
        return $out;
    }

    /** A non-negative number rounded to a whole one, or null when the value is not a number. */
    private static function whole($v): ?int
    {
        $n = self::number($v);
        return $n === null ? null : (int) round($n);
    }

    private static function number($v): ?float
    {
        if (is_int($v) || is_float($v)) {
            $f = (float) $v;
        } elseif (is_string($v) && is_numeric(trim($v))) {
            $f = (float) trim($v);
        } else {
            return null;
        }
        return is_finite($f) && $f >= 0 ? $f : null;
    }
}
