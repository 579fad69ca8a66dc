<?php
/**
 * The customer's hosting panel in the WHMCS client area (hosting products: Split, Unified, Vanity),
 * shown below the service's status once it is active. The daemon renders each tab's HTML (escaped)
 * and the module carries everything over the signed API: the tab (POST
 * /v1/services/{id}/hosting-panel), a form's action (POST …/hosting-panel/actions) and the running
 * action's progress the panel polls (GET …/hosting-panel/live). The customer's browser only talks to
 * WHMCS; WHMCS has already checked that the logged-in client owns the service, and the module passes
 * that client's id on so the daemon checks it again. Forms are read as for the VM panel
 * (VmPanel::fieldsOf: only hbf_* inputs) with WHMCS's CSRF token checked (VmPanel::csrfOk).
 */

namespace WHMCS\Module\Server\Hostbridge;

final class HostingPanel
{
    /**
     * The service states in which the panel follows the status (a failed deployment: its Overview
     * offers Try again); while deploying, the deploy progress page stays alone.
     */
    public const STATES = ['active', 'suspended', 'failed'];
    public const UNAVAILABLE = 'Your hosting panel cannot be shown right now. Please try again in a few minutes, or contact support if this persists.';

    /**
     * The tab asked for ($_GET['hbtab']) when it is shaped like a tab's key, else the overview. Which
     * tabs exist is the daemon's to say (it shows the first one for a key it does not know), so a
     * new tab needs no change here.
     */
    public static function tab($value): string
    {
        $t = strtolower(Text::str($value));
        return preg_match('/^[a-z][a-z0-9-]{0,31}$/', $t) === 1 ? $t : 'overview';
    }

    /**
     * One tab's HTML, or a plain apology in the page (the detail is in the Module Log).
     *
     * @return array{ok:bool, html:string, refresh_s:?int, error:string}
     */
    public static function fetch(array $params, string $tab, string $token): array
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/hosting-panel';
        $r = Calls::run($params, 'HostingPanel', 'POST', $path, static fn (Params $p): array => [
            'client_id' => (int) $p->int('userid'), 'tab' => $tab, 'base' => VmPanel::base($params), 'token' => preg_replace('/[^A-Za-z0-9]/', '', $token),
        ]);
        $out = ['ok' => false, 'html' => '', 'refresh_s' => null, 'error' => $r['error']];
        if (!$r['ok']) {
            return $out;
        }
        $html = $r['data']['html'] ?? null;
        if (!is_string($html)) {
            $out['error'] = 'hostbridge: the daemon\'s hosting panel has no HTML';
            return $out;
        }
        $refresh = Text::int($r['data']['refresh_s'] ?? null);
        return ['ok' => true, 'html' => $html, 'refresh_s' => $refresh !== null && $refresh > 0 ? $refresh : null, 'error' => ''];
    }

    /**
     * Sends one action of the panel: 'success', or the daemon's refusal in the customer's words. The
     * Module Log entry masks every field whose name holds "password" (as VmAction's).
     */
    public static function action(array $params, string $action, array $fields): string
    {
        if (!preg_match('/^[a-z][a-z-]{0,39}$/', $action)) {
            return 'Unknown action.';
        }
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/hosting-panel/actions';
        $r = Calls::run($params, 'HostingAction', 'POST', $path, static fn (Params $p): array => [
            'client_id' => (int) $p->int('userid'), 'action' => $action, 'fields' => $fields === [] ? new \stdClass() : $fields,
        ]);
        return $r['ok'] ? 'success' : VmPanel::customerMessage($r['error']);
    }

    /**
     * The running action's progress as the daemon answers it (JSON), or a small JSON error.
     *
     * @return array{status:int, json:string}
     */
    public static function live(array $params): array
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/hosting-panel/live?client_id=' . (int) $p->int('userid');
        $r = Calls::run($params, 'HostingLive', 'GET', $path, null);
        if (!$r['ok'] || !is_array($r['data'])) {
            return ['status' => 503, 'json' => json_encode(['ok' => false, 'error' => 'The progress cannot be read right now.'])];
        }
        return ['status' => 200, 'json' => (string) json_encode($r['data'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE)];
    }
}
