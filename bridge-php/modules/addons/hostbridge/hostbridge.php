<?php
/**
 * hostbridge — WHMCS addon module (PHP 8.1+, no Composer at runtime).
 *
 * Holds the daemon's address and shared secret for what is not tied to a product: the admin page
 * (Addons › hostbridge, the daemon's own pages) and the AfterCronJob hook (hooks.php) that ticks the
 * daemon after each WHMCS cron run. It creates nothing in WHMCS's database: the daemon owns its
 * mod_hostbridge_* tables and their migrations.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

use WHMCS\Module\Addon\Hostbridge\Addon;

if (!class_exists(Addon::class, false)) {
    require_once __DIR__ . '/lib/Addon.php';
}

/**
 * The addon's name, version and settings (Addons › hostbridge › Configure).
 *
 * @see https://developers.whmcs.com/addon-modules/configuration/
 */
function hostbridge_config(): array
{
    return [
        'name' => 'hostbridge',
        'description' => 'The hostbridge provisioning daemon: its admin pages, and a tick of its scheduler after every WHMCS cron run.',
        'author' => 'hostbridge',
        'language' => 'english',
        'version' => '0.1.0',
        'fields' => [
            'daemon_url' => [
                'FriendlyName' => 'Daemon URL',
                'Type' => 'text',
                'Size' => '60',
                'Default' => 'http://127.0.0.1:8740',
                'Description' => 'where WHMCS reaches the daemon, e.g. http://127.0.0.1:8740 or https://hostbridge.example.com:443 behind a TLS proxy',
            ],
            'shared_secret' => [
                'FriendlyName' => 'Shared secret',
                'Type' => 'password',
                'Size' => '60',
                'Description' => 'the daemon\'s HOSTBRIDGE_SECRET (data/shared-secret on the embedded default); the same as the password of the hostbridge server record',
            ],
            'tick_on_cron' => [
                'FriendlyName' => 'Tick on WHMCS cron',
                'Type' => 'yesno',
                'Description' => 'after every WHMCS cron run, ask the daemon to run its scheduled jobs (the daemon also ticks itself)',
            ],
        ],
    ];
}

/** @see https://developers.whmcs.com/addon-modules/installation-uninstallation/ */
function hostbridge_activate(): array
{
    // The HTTP client needs curl; say so now rather than at the first cron run.
    if (!function_exists('curl_init')) {
        return ['status' => 'error', 'description' => 'hostbridge needs the PHP curl extension on the WHMCS server (Debian/Ubuntu: apt-get install php-curl).'];
    }
    return ['status' => 'success', 'description' => 'hostbridge is active. Set the daemon URL and the shared secret under Configure; nothing was added to the WHMCS database.'];
}

/** @see https://developers.whmcs.com/addon-modules/installation-uninstallation/ */
function hostbridge_deactivate(): array
{
    return ['status' => 'success', 'description' => 'hostbridge is inactive. The daemon and its own tables are untouched.'];
}

/**
 * Addons › hostbridge: the daemon's admin pages (?page=services, services/12, tasks, log, …) as
 * the WHMCS admin logged in; forms post back here and are forwarded, signed, to the daemon.
 *
 * @see https://developers.whmcs.com/addon-modules/admin-area-output/
 */
function hostbridge_output($vars): void
{
    $vars = is_array($vars) ? $vars : [];
    $method = (string) ($_SERVER['REQUEST_METHOD'] ?? 'GET');
    echo Addon::adminPage($vars, [
        'get' => $_GET,
        'post' => $_POST,
        'method' => $method,
        'query' => (string) ($_SERVER['QUERY_STRING'] ?? ''),
        // The raw body keeps a field sent more than once (checkboxes), which $_POST would fold.
        'body' => $method === 'POST' ? (string) file_get_contents('php://input') : '',
        'session' => $_SESSION ?? [],
    ]);
}
