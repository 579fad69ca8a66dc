<?php
/**
 * The daemon's rendered view of one service (GET /v1/services/{id}/view?audience=client|admin), for
 * the client area's overview tab and the admin service page. The daemon escapes the fragment; the
 * module only checks the answer's shape and bounds the reload interval.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class ServiceView
{
    /** A reload faster than every 2 s would hammer WHMCS; slower than 5 min is no live page. */
    public const MIN_REFRESH_S = 2;
    public const MAX_REFRESH_S = 300;

    /** @return array{ok:bool, html:string, state:string, refresh_s:?int, error:string} */
    public static function fetch(array $params, string $action, string $audience): array
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/view?audience=' . $audience;
        $r = Calls::run($params, $action, 'GET', $path, null);
        $out = ['ok' => false, 'html' => '', 'state' => '', 'refresh_s' => null, 'error' => $r['error']];
        if (!$r['ok']) {
            return $out;
        }
        $html = $r['data']['html'] ?? null;
        if (!is_string($html)) {
            $out['error'] = 'hostbridge: the daemon\'s view of this service has no HTML';
            return $out;
        }
        $refresh = Text::int($r['data']['refresh_s'] ?? null);
        return [
            'ok' => true,
            'html' => $html,
            'state' => Text::str($r['data']['state'] ?? ''),
            'refresh_s' => $refresh === null || $refresh <= 0 ? null : min(self::MAX_REFRESH_S, max(self::MIN_REFRESH_S, $refresh)),
            'error' => '',
        ];
    }
}
