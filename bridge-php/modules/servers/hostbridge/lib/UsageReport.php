<?php
/**
 * The daemon's usage report (GET /v1/usage), checked and normalised once for UsageUpdate and the
 * metric provider: whatever the daemon sends, the module only ever sees whole, non-negative numbers.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class UsageReport
{
    /** The metric system names the daemon reports in "metrics" (also the WHMCS metric names). */
    public const METRICS = ['disk_mb', 'bandwidth_mb', 'mailboxes', 'databases', 'web_domains'];

    /**
     * @return list<array{service_id:int, username:string, domain:string, disk_used_mb:int, disk_limit_mb:int,
     *   bw_used_mb:int, bw_limit_mb:int, collected_at:?int, metrics:array<string, float|null>}>
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
                'username' => self::text($s['username'] ?? ''),
                'domain' => self::text($s['domain'] ?? ''),
                'disk_used_mb' => self::whole($s['disk_used_mb'] ?? null) ?? (int) round($metrics['disk_mb'] ?? 0),
                'disk_limit_mb' => self::whole($s['disk_limit_mb'] ?? null) ?? 0,
                'bw_used_mb' => self::whole($s['bw_used_mb'] ?? null) ?? (int) round($metrics['bandwidth_mb'] ?? 0),
                'bw_limit_mb' => self::whole($s['bw_limit_mb'] ?? null) ?? 0,
                'collected_at' => self::whole($s['collected_at'] ?? null),
                'metrics' => $metrics,
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

    private static function text($v): string
    {
        return is_scalar($v) && !is_bool($v) ? trim((string) $v) : '';
    }
}
