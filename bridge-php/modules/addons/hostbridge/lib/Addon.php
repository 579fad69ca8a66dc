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

    /** The HTML of the addon's admin page: the daemon's page, or a readable error box. */
    public static function adminPage(array $vars, string $page): string
    {
        $secret = Text::str($vars['shared_secret'] ?? '');
        try {
            $answer = self::client($vars)->request('GET', '/v1/admin/view?page=' . rawurlencode($page));
            $html = $answer['data']['html'] ?? null;
            if (!is_string($html)) {
                throw new DaemonError('the daemon\'s answer to GET /v1/admin/view has no HTML');
            }
            return '<div class="hostbridge-admin">' . $html . '</div>';
        } catch (\Throwable $e) {
            $message = Text::scrub($e->getMessage(), [$secret]);
            $hint = ($e instanceof DaemonError && $e->status === 404)
                ? ' The daemon does not serve this page; update the daemon, or check the page name.'
                : '';
            return '<div class="alert alert-danger hostbridge-error" role="alert"><strong>hostbridge:</strong> '
                . htmlspecialchars($message . $hint, ENT_QUOTES, 'UTF-8') . '</div>';
        }
    }

    /** The page asked for in the admin URL: letters, digits, - and _ only, else "overview". */
    public static function pageName($requested): string
    {
        $p = is_string($requested) ? strtolower(trim($requested)) : '';
        return preg_match('/^[a-z0-9_-]{1,32}$/', $p) ? $p : 'overview';
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
