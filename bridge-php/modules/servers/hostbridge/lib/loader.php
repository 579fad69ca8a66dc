<?php
/**
 * Loads the server module's classes with plain require_once (no Composer at runtime). The server
 * module and the addon both require this file. WHMCS also autoloads WHMCS\Module\Server\Hostbridge\*
 * from lib/; the class_exists guard keeps a class it loaded first from being declared twice.
 * MetricsProvider is not listed: it implements WHMCS's usage-billing interfaces, which exist only
 * inside WHMCS, so hostbridge_MetricProvider() loads it when WHMCS asks for it.
 */

foreach (['Text', 'DaemonError', 'DaemonClient', 'ModuleLog', 'Params', 'Calls', 'ServiceView', 'UsageReport', 'WhmcsDb', 'ServerSync', 'ServerGroups', 'KvmProfiles', 'HostingPlans', 'Buttons', 'VmPanel', 'Ssl', 'HostingPanel'] as $hostbridgeClass) {
    if (!class_exists('WHMCS\\Module\\Server\\Hostbridge\\' . $hostbridgeClass, false)) {
        require_once __DIR__ . '/' . $hostbridgeClass . '.php';
    }
}
unset($hostbridgeClass);
