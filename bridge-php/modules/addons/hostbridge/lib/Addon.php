<?php
/**
 * The hostbridge addon's logic: its settings, the daemon client they describe, the cron tick and
 * the admin page. The signed HTTP client and the text/masking helper are the server module's
 * (required by relative path, so both modules always speak the same protocol and mask alike);
 * nothing here writes WHMCS's database.
 */

namespace WHMCS\Module\Addon\Hostbridge;

use WHMCS\Module\Server\Hostbridge\DaemonClient;
use WHMCS\Module\Server\Hostbridge\DaemonError;
use WHMCS\Module\Server\Hostbridge\Text;

require_once __DIR__ . '/../../../servers/hostbridge/lib/loader.php';

final class Addon
{
    public const MODULE = 'hostbridge';
    /** The tick must not hold WHMCS's cron up: 3 s to connect, 8 s in all (the brief's ~10 s budget). */
    public const TICK_CONNECT_TIMEOUT_S = 3;
    public const TICK_TIMEOUT_S = 8;

    /** The addon's settings as tbladdonmodules holds them (setting => value); [] when unreadable. */
    public static function settingsFromDatabase(): array
    {
        $capsule = '\\WHMCS\\Database\\Capsule';
        if (!class_exists($capsule)) {
            return [];
        }
        $out = [];
        foreach ($capsule::table('tbladdonmodules')->where('module', self::MODULE)->get(['setting', 'value']) as $row) {
            $out[(string) $row->setting] = Text::str($row->value, false);
        }
        return $out;
    }

    /**
     * The client for the daemon the settings name.
     *
     * @throws DaemonError when the URL or the secret is missing
     */
    public static function client(array $settings, int $connectTimeout = DaemonClient::CONNECT_TIMEOUT_S, int $timeout = DaemonClient::TOTAL_TIMEOUT_S): DaemonClient
    {
        $url = Text::str($settings['daemon_url'] ?? '');
        $secret = Text::str($settings['shared_secret'] ?? '');
        if ($url === '') {
            throw new DaemonError('no daemon URL: set it in Addons › hostbridge › Configure (e.g. http://127.0.0.1:8740)');
        }
        if ($secret === '') {
            throw new DaemonError('no shared secret: set it in Addons › hostbridge › Configure to the daemon\'s HOSTBRIDGE_SECRET');
        }
        return new DaemonClient(DaemonClient::baseUrlFor($url, null, false), $secret, $connectTimeout, $timeout);
    }

    /**
     * The AfterCronJob hook: one signed POST /v1/tick when "Tick on WHMCS cron" is on. Only a failure
     * is written (to the Activity Log); nothing is thrown, whatever happens.
     */
    public static function cronTick(): void
    {
        $secret = '';
        try {
            $settings = self::settingsFromDatabase();
            if (!Text::isOn($settings['tick_on_cron'] ?? '')) {
                return;
            }
            $secret = Text::str($settings['shared_secret'] ?? '');
            $client = self::client($settings, self::TICK_CONNECT_TIMEOUT_S, self::TICK_TIMEOUT_S);
            $answer = $client->request('POST', '/v1/tick', []);
            if (($answer['data']['ok'] ?? null) !== true) {
                throw new DaemonError('the daemon did not confirm the tick');
            }
        } catch (\Throwable $e) {
            self::activity('hostbridge: the WHMCS cron could not tick the daemon: ' . Text::scrub($e->getMessage(), [$secret]));
        }
    }

    /**
     * Addons › hostbridge: the daemon's admin page named by ?page= (services, services/12, tasks,
     * tasks/7, servers, groups, log, statistics, settings, …), fetched server-side over the signed
     * API as the WHMCS admin who is logged in. A form on it posts back here; its WHMCS CSRF token
     * is checked, then its body goes to the daemon, which runs the page's own action and answers
     * where to go next (a redirect, so a reload does not send the form again).
     *
     * WHMCS shows this page only to admin roles ticked under the addon's Access Control
     * (tbladdonmodules "access"); it is checked here again, and nothing of the daemon is fetched
     * without an admin session.
     *
     * @param array $request ['get' => $_GET, 'method' => ..., 'query' => QUERY_STRING, 'body' => raw POST body, 'post' => $_POST, 'session' => $_SESSION]
     */
    public static function adminPage(array $vars, array $request): string
    {
        $secret = Text::str($vars['shared_secret'] ?? '');
        try {
            $admin = self::currentAdmin($request['session'] ?? []);
            $base = self::moduleLink($vars);
            $method = strtoupper(Text::str($request['method'] ?? 'GET')) === 'POST' ? 'POST' : 'GET';
            $token = self::whmcsToken();
            $form = '';
            if ($method === 'POST') {
                $given = $request['post']['token'] ?? '';
                if ($token === '' || !is_string($given) || !hash_equals($token, $given)) {
                    return self::errorBox('this form did not carry your WHMCS session\'s security token (it may have expired, or come from another site). Reload the page and try again; nothing was changed.');
                }
                $form = is_string($request['body'] ?? null) && $request['body'] !== ''
                    ? $request['body']
                    : http_build_query(is_array($request['post'] ?? null) ? $request['post'] : []);
            }
            $answer = self::client($vars)->request('POST', '/v1/admin/pages', [
                'admin' => $admin,
                'method' => $method,
                'page' => self::pageName($request['get']['page'] ?? null),
                'query' => Text::str($request['query'] ?? '', false),
                'form' => $form,
                'token' => $token,
                'base' => $base,
            ])['data'];
            if (($answer['status'] ?? null) === 303) {
                $location = Text::str($answer['location'] ?? '');
                if (strpos($location, $base . '&') !== 0 || preg_match('/[\r\n]/', $location)) {
                    throw new DaemonError('the daemon sent the admin to a page outside the addon');
                }
                if (!headers_sent()) {
                    header('Location: ' . $location, true, 303);
                }
                return '<p class="hostbridge-redirect"><a href="' . htmlspecialchars($location, ENT_QUOTES, 'UTF-8') . '">Continue</a></p>';
            }
            $html = $answer['html'] ?? null;
            if (!is_string($html)) {
                throw new DaemonError('the daemon\'s answer to POST /v1/admin/pages has no HTML');
            }
            return '<div class="hostbridge-admin">' . $html . '</div>';
        } catch (\Throwable $e) {
            $message = Text::scrub($e->getMessage(), [$secret]);
            $hint = ($e instanceof DaemonError && $e->status === 404)
                ? ' The daemon does not serve the addon\'s pages; update the daemon.'
                : '';
            return self::errorBox($message . $hint);
        }
    }

    /**
     * The WHMCS admin logged in (WHMCS keeps its id in $_SESSION['adminid']; tbladmins has the
     * username and role), allowed by the addon's Access Control.
     *
     * @return array{id:int, username:string}
     * @throws DaemonError when there is no admin session, or the admin's role may not use the addon
     */
    public static function currentAdmin($session): array
    {
        $id = is_array($session) ? (int) Text::str($session['adminid'] ?? '') : 0;
        if ($id <= 0) {
            throw new DaemonError('no WHMCS admin is logged in: log in to the WHMCS admin area to use hostbridge');
        }
        $capsule = '\\WHMCS\\Database\\Capsule';
        if (!class_exists($capsule)) {
            throw new DaemonError('the WHMCS database is not available to identify the admin');
        }
        $row = $capsule::table('tbladmins')->where('id', $id)->first(['username', 'roleid']);
        if ($row === null || Text::str($row->username ?? '') === '') {
            throw new DaemonError('the logged-in WHMCS admin is not known in tbladmins');
        }
        // WHMCS stores the roles ticked under Access Control as a comma-separated list of role ids.
        $access = $capsule::table('tbladdonmodules')->where('module', self::MODULE)->where('setting', 'access')->value('value');
        $roles = array_filter(array_map('trim', explode(',', Text::str($access))), 'strlen');
        if (!in_array((string) (int) ($row->roleid ?? 0), $roles, true)) {
            throw new DaemonError('your WHMCS admin role has no access to the hostbridge addon (Configuration › System Settings › Addon Modules › hostbridge › Configure › Access Control)');
        }
        return ['id' => $id, 'username' => Text::str($row->username)];
    }

    /** WHMCS's CSRF token of this admin session ('' outside WHMCS). */
    private static function whmcsToken(): string
    {
        return function_exists('generate_token') ? Text::str(generate_token('plain')) : '';
    }

    /** WHMCS's link back to the addon ($vars['modulelink']), or the documented default. */
    private static function moduleLink(array $vars): string
    {
        $link = Text::str($vars['modulelink'] ?? '');
        return preg_match('~^[A-Za-z0-9_./-]{1,200}\.php\?module=[a-z0-9_]{1,50}$~', $link) ? $link : 'addonmodules.php?module=' . self::MODULE;
    }

    private static function errorBox(string $message): string
    {
        return '<div class="alert alert-danger hostbridge-error" role="alert"><strong>hostbridge:</strong> '
            . htmlspecialchars($message, ENT_QUOTES, 'UTF-8') . '</div>';
    }

    /** The page asked for in the admin URL (services/12, tasks, log, …): lower-case letters, digits, / - _; else the Services list. */
    public static function pageName($requested): string
    {
        $p = is_string($requested) ? strtolower(trim($requested)) : '';
        return preg_match('~^[a-z0-9][a-z0-9/_-]{0,99}$~', $p) && strpos($p, '//') === false ? $p : '';
    }

    private static function activity(string $message): void
    {
        try {
            if (function_exists('logActivity')) {
                logActivity($message);
            }
        } catch (\Throwable $e) {
            // The Activity Log is an aid; the cron must go on without it.
        }
    }
}
