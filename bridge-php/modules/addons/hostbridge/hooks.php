<?php
/**
 * hostbridge addon hooks, loaded by WHMCS on every page while the addon is active. A hooks.php added
 * after activation is found only once the addon's configuration is saved again.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

use WHMCS\Module\Addon\Hostbridge\Addon;

if (!class_exists(Addon::class, false)) {
    require_once __DIR__ . '/lib/Addon.php';
}

// After every system cron run: one signed POST /v1/tick, at most ~8 s, never an exception.
add_hook('AfterCronJob', 1, static function ($vars): void {
    Addon::cronTick();
});
