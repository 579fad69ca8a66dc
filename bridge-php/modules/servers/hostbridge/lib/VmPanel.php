<?php
/**
 * The customer's VM panel in the WHMCS client area (KVM products). The daemon renders each tab's
 * HTML (escaped) and the module carries everything over the signed API: the tab (POST
 * /v1/services/{id}/panel), a form's action (POST …/panel/actions), the live figures the Overview
 * polls (GET …/panel/live) and a console link (POST …/console). The customer's browser only talks
 * to WHMCS; WHMCS has already checked that the logged-in client owns the service, and the module
 * passes that client's id on so the daemon checks it again.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class VmPanel
{
    public const TABS = ['overview', 'snapshots', 'backups', 'graphs', 'reinstall', 'network', 'firewall', 'iso', 'password', 'console'];
    public const TIMEFRAMES = ['hour', 'day', 'week', 'month'];
    /** Form fields reach the daemon only from inputs named hbf_<name>; nothing else of the request is forwarded. */
    public const FIELD_PREFIX = 'hbf_';
    public const UNAVAILABLE = 'Your virtual server\'s panel cannot be shown right now. Please try again in a few minutes, or contact support if this persists.';
    public const NOT_SENT = 'The action could not be sent right now. Please try again in a few minutes, or contact support if this persists.';

    /** The tab asked for ($_GET['hbtab']), or the overview. */
    public static function tab($value): string
    {
        $t = strtolower(Text::str($value));
        return in_array($t, self::TABS, true) ? $t : 'overview';
    }

    public static function timeframe($value): ?string
    {
        $t = strtolower(Text::str($value));
        return in_array($t, self::TIMEFRAMES, true) ? $t : null;
    }

    /** The product details page of the service, which every link and form of the panel goes back to. */
    public static function base(array $params): string
    {
        return 'clientarea.php?action=productdetails&id=' . (int) ($params['serviceid'] ?? 0);
    }

    /**
     * hostbridge_ClientArea's answer for a KVM product: the tab in $get['hbtab'] (the Graphs tab's
     * period in $get['hbtf']) in templates/panel.tpl, or a plain apology (the detail is in the Module Log).
     */
    public static function clientArea(array $params, array $get): array
    {
        $token = function_exists('generate_token') ? (string) generate_token('plain') : '';
        $r = self::fetch($params, self::tab($get['hbtab'] ?? null), self::timeframe($get['hbtf'] ?? null), $token);
        if (!$r['ok']) {
            return [
                'tabOverviewModuleOutputTemplate' => 'templates/error.tpl',
                'templateVariables' => ['hostbridgeError' => self::UNAVAILABLE],
            ];
        }
        return [
            'tabOverviewModuleOutputTemplate' => 'templates/panel.tpl',
            'templateVariables' => ['hostbridgePanel' => $r['html']],
        ];
    }

    /**
     * One tab's HTML.
     *
     * @return array{ok:bool, html:string, refresh_s:?int, error:string}
     */
    public static function fetch(array $params, string $tab, ?string $timeframe, string $token): array
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/panel';
        $r = Calls::run($params, 'ClientArea', 'POST', $path, static function (Params $p) use ($params, $tab, $timeframe, $token): array {
            $body = ['client_id' => (int) $p->int('userid'), 'tab' => $tab, 'base' => self::base($params), 'token' => preg_replace('/[^A-Za-z0-9]/', '', $token)];
            if ($timeframe !== null) {
                $body['timeframe'] = $timeframe;
            }
            return $body;
        });
        $out = ['ok' => false, 'html' => '', 'refresh_s' => null, 'error' => $r['error']];
        if (!$r['ok']) {
            return $out;
        }
        $html = $r['data']['html'] ?? null;
        if (!is_string($html)) {
            $out['error'] = 'hostbridge: the daemon\'s panel has no HTML';
            return $out;
        }
        $refresh = Text::int($r['data']['refresh_s'] ?? null);
        return ['ok' => true, 'html' => $html, 'refresh_s' => $refresh !== null && $refresh > 0 ? $refresh : null, 'error' => ''];
    }

    /**
     * The form's fields: every hbf_<name> input, its name without the prefix; a list (checkboxes
     * named hbf_days[]) joined with commas.
     */
    public static function fieldsOf(array $post): array
    {
        $fields = [];
        foreach ($post as $k => $v) {
            if (!is_string($k) || strncmp($k, self::FIELD_PREFIX, strlen(self::FIELD_PREFIX)) !== 0) {
                continue;
            }
            $name = substr($k, strlen(self::FIELD_PREFIX));
            if (!preg_match('/^[a-z][a-z0-9_]{0,39}$/', $name)) {
                continue;
            }
            if (is_array($v)) {
                $fields[$name] = implode(',', array_map(static fn ($x): string => Text::str($x), array_filter($v, 'is_scalar')));
            } elseif (is_scalar($v)) {
                // Passwords keep their spaces; the daemon checks every field.
                $fields[$name] = (string) $v;
            }
        }
        return $fields;
    }

    /**
     * Sends one action of the panel: 'success', or the daemon's refusal in the customer's words. The
     * Module Log entry masks every field whose name holds "password" (Text::mask).
     */
    public static function action(array $params, string $action, array $fields): string
    {
        if (!preg_match('/^[a-z][a-z-]{0,39}$/', $action)) {
            return 'Unknown action.';
        }
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/panel/actions';
        $r = Calls::run($params, 'VmAction', 'POST', $path, static fn (Params $p): array => [
            'client_id' => (int) $p->int('userid'), 'action' => $action, 'fields' => $fields === [] ? new \stdClass() : $fields,
        ]);
        return $r['ok'] ? 'success' : self::customerMessage($r['error']);
    }

    /**
     * The daemon's refusal (HTTP 4xx) as the customer reads it; anything else is the plain "not sent".
     * The refusal may quote what the customer typed, and WHMCS themes differ in whether they escape a
     * module's message: angle brackets become look-alikes, so no theme can read it as markup.
     */
    public static function customerMessage(string $error): string
    {
        if (preg_match('/^hostbridge: the daemon answered HTTP (4\d\d): (.+)$/s', $error, $m) && (int) $m[1] !== 401) {
            return strtr($m[2], ['<' => "\u{2039}", '>' => "\u{203A}"]);
        }
        return self::NOT_SENT;
    }

    /**
     * The live figures as the daemon answers them (JSON), or a small JSON error.
     *
     * @return array{status:int, json:string}
     */
    public static function live(array $params): array
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/panel/live?client_id=' . (int) $p->int('userid');
        $r = Calls::run($params, 'VmLive', 'GET', $path, null);
        if (!$r['ok'] || !is_array($r['data'])) {
            return ['status' => 503, 'json' => json_encode(['ok' => false, 'error' => 'The live figures cannot be read right now.'])];
        }
        return ['status' => 200, 'json' => (string) json_encode($r['data'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE)];
    }

    /**
     * A console link for the client (the console's own page, with a short-lived ticket).
     *
     * @return array{ok:bool, url:string, error:string}
     */
    public static function console(array $params): array
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/console';
        $r = Calls::run($params, 'VmConsole', 'POST', $path, static fn (Params $p): array => ['client_id' => (int) $p->int('userid')]);
        if (!$r['ok']) {
            return ['ok' => false, 'url' => '', 'error' => self::customerMessage($r['error'])];
        }
        $url = $r['data']['url'] ?? null;
        if (!is_string($url) || !preg_match('~^https?://[^\s<>"]+$~', $url)) {
            return ['ok' => false, 'url' => '', 'error' => self::NOT_SENT];
        }
        return ['ok' => true, 'url' => $url, 'error' => ''];
    }

    /**
     * WHMCS's CSRF check of the client's form: check_token() stops the request itself when the token
     * is wrong; a WHMCS without it (or one that returns false) is refused here as well.
     */
    public static function csrfOk(): bool
    {
        if (!function_exists('check_token')) {
            return false;
        }
        return check_token('WHMCS.default') !== false;
    }
}
