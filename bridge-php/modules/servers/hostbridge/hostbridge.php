<?php
/**
 * hostbridge — WHMCS server (provisioning) module, PHP 8.1+, no Composer at runtime.
 *
 * This file holds only the functions WHMCS calls, hostbridge_<Function>, each naming the page of the
 * WHMCS developer docs it implements (https://developers.whmcs.com/provisioning-modules/). Each is a
 * thin shim: it packs the parts of $params the daemon needs (lib/Params.php) and sends one signed
 * request (lib/Calls.php over lib/DaemonClient.php; the scheme is in docs/api.md) with short
 * timeouts (connect 3 s, total 10 s). Actions return 'success' or the daemon's error text prefixed
 * "hostbridge: "; read-side functions show the daemon's answers. No function throws, except the
 * loaders (Server group, KVM profile, Hosting plan), because a thrown Exception is how WHMCS shows a loader's error: any failure,
 * including empty or partial $params, becomes a readable message. Every call is written to the
 * Module Log with the shared secret and the passwords masked (lib/Text.php).
 *
 * The WHMCS server record of a hostbridge product is the daemon itself: hostname or IP, port,
 * password = the daemon's HOSTBRIDGE_SECRET, "secure" = HTTPS (behind a TLS proxy).
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

use WHMCS\Module\Server\Hostbridge\Buttons;
use WHMCS\Module\Server\Hostbridge\Calls;
use WHMCS\Module\Server\Hostbridge\DaemonClient;
use WHMCS\Module\Server\Hostbridge\HostingPanel;
use WHMCS\Module\Server\Hostbridge\HostingPlans;
use WHMCS\Module\Server\Hostbridge\KvmProfiles;
use WHMCS\Module\Server\Hostbridge\MetricsProvider;
use WHMCS\Module\Server\Hostbridge\Params;
use WHMCS\Module\Server\Hostbridge\ServerGroups;
use WHMCS\Module\Server\Hostbridge\ServerSync;
use WHMCS\Module\Server\Hostbridge\ServiceView;
use WHMCS\Module\Server\Hostbridge\Ssl;
use WHMCS\Module\Server\Hostbridge\Text;
use WHMCS\Module\Server\Hostbridge\UsageReport;
use WHMCS\Module\Server\Hostbridge\VmPanel;
use WHMCS\Module\Server\Hostbridge\WhmcsDb;

require_once __DIR__ . '/lib/loader.php';

/**
 * What WHMCS needs to know of the module: its name, that it needs a server record (the daemon), the
 * daemon's default ports, and how Server Sync matches accounts.
 *
 * @see https://developers.whmcs.com/provisioning-modules/meta-data-params/
 */
function hostbridge_MetaData(): array
{
    return [
        'DisplayName' => 'hostbridge',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '8740',
        'DefaultSSLPort' => '443',
        'ServiceSingleSignOnLabel' => false,
        // Server Sync and usage-metric tenants are matched by the service's username: it is unique
        // per daemon, unlike the domain (a Vanity service has none of its own).
        'ListAccountsUniqueIdentifierDisplayName' => 'Username',
        'ListAccountsUniqueIdentifierField' => 'username',
        // WHMCS matches ListAccounts' "product" against this Module Settings field of its products:
        // the Server Sync key, one per product, so two products of the same deployment mode differ.
        'ListAccountsProductField' => 'configoption14',
    ];
}

/**
 * Product Module Settings. WHMCS stores the n-th entry in tblproducts.configoptionN, so these
 * positions are fixed for good; add new settings at the end only (at most 24):
 *   configoption1   Deployment mode            dropdown split | unified | vanity | kvm
 *   configoption2   Server group               dropdown (loader: the daemon's server groups), the group id; not read by kvm
 *   configoption3   Web                        yesno
 *   configoption4   Mail                       yesno
 *   configoption5   DNS                        yesno
 *   configoption6   Web disk quota (MB)        text, MB or "unlimited"; 0 disables the web role
 *   configoption7   Mail disk quota (MB)       text, MB or "unlimited"; 0 disables the mail role
 *   configoption8   Web bandwidth (MB)         text, MB or "unlimited"
 *   configoption9   Web domains                text, a number or "unlimited"
 *   configoption10  Databases                  text, a number or "unlimited"
 *   configoption11  Mail accounts              text, a number or "unlimited"
 *   configoption12  Vanity site quota (MB)     text, MB or "unlimited"
 *   configoption13  Vanity mailbox quota (MB)  text, MB or "unlimited"
 *   configoption14  Server Sync key            text, unique per product (ListAccountsProductField)
 *   configoption15  KVM profile                dropdown (loader: the daemon's KVM profiles), the profile id; kvm only
 * The daemon applies the overrides: configurable options web_disk_quota, mail_disk_quota,
 * web_bandwidth, web_domains, databases, mail_accounts and vanity_domain, custom field vanity_name.
 * A kvm product is the KVM profile (which names the Proxmox cluster; 3–14 are not read) with the
 * configurable options cores, sockets, memory, disk, extra_disk, ipv4, ipv6, rate, bandwidth,
 * snapshots, backups and os, and the custom fields hostname and ssh_keys (docs/proxmox-products.md).
 *
 * @see https://developers.whmcs.com/provisioning-modules/config-options/
 */
function hostbridge_ConfigOptions(): array
{
    $number = static fn (string $name, string $default, string $description, string $size = '10'): array => [
        'FriendlyName' => $name,
        'Type' => 'text',
        'Size' => $size,
        'Default' => $default,
        'Description' => $description,
    ];
    return [
        'Deployment mode' => [
            'FriendlyName' => 'Deployment mode',
            'Type' => 'dropdown',
            'Options' => 'split,unified,vanity,kvm',
            'Default' => 'split',
            'Description' => 'split: one account per role, web, mail and DNS may sit on different nodes; unified: one account for web and mail on one node; vanity: name.yourdomain sites and name@yourdomain mailboxes on a domain you own (the client picks the name in the custom field vanity_name, the configurable option vanity_domain picks the parent domain); kvm: a Proxmox VE virtual server shaped by the KVM profile (the profile names the cluster; Server group and the hosting settings are not read). Locked once a service is created.',
            'SimpleMode' => true,
        ],
        'Server group' => [
            'FriendlyName' => 'Server group',
            'Type' => 'dropdown',
            'Loader' => 'hostbridge_LoaderServerGroups',
            'Description' => 'the hostbridge server group to deploy on (listed by the daemon)',
            'SimpleMode' => true,
        ],
        'Web' => [
            'FriendlyName' => 'Web',
            'Type' => 'yesno',
            'Description' => 'create a web domain (only when the web disk quota is not 0)',
            'SimpleMode' => true,
        ],
        'Mail' => [
            'FriendlyName' => 'Mail',
            'Type' => 'yesno',
            'Description' => 'create a mail domain (only when the mail disk quota is not 0)',
            'SimpleMode' => true,
        ],
        'DNS' => [
            'FriendlyName' => 'DNS',
            'Type' => 'yesno',
            'Description' => 'create a DNS zone',
            'SimpleMode' => true,
        ],
        'Web disk quota (MB)' => $number('Web disk quota (MB)', '1024',
            'MB, or unlimited; 0 disables the web role. The configurable option web_disk_quota overrides it. Not read when a Hosting plan is chosen (the plan decides).', '8'),
        'Mail disk quota (MB)' => $number('Mail disk quota (MB)', '1024',
            'MB, or unlimited; 0 disables the mail role. The configurable option mail_disk_quota overrides it. Not read when a Hosting plan is chosen (the plan decides).', '8'),
        'Web bandwidth (MB)' => $number('Web bandwidth (MB)', 'unlimited',
            'MB per month, or unlimited. The configurable option web_bandwidth overrides it. Not read when a Hosting plan is chosen (the plan decides).'),
        'Web domains' => $number('Web domains', '1',
            'web domains the client may add, or unlimited. The configurable option web_domains overrides it. Not read when a Hosting plan is chosen (the plan decides).'),
        'Databases' => $number('Databases', 'unlimited',
            'a number, or unlimited. The configurable option databases overrides it. Not read when a Hosting plan is chosen (the plan decides).'),
        'Mail accounts' => $number('Mail accounts', 'unlimited',
            'mailboxes, a number or unlimited. The configurable option mail_accounts overrides it. Not read when a Hosting plan is chosen (the plan decides).'),
        'Vanity site quota (MB)' => $number('Vanity site quota (MB)', '1024',
            'vanity mode: disk of each name.yourdomain site, MB or unlimited'),
        'Vanity mailbox quota (MB)' => $number('Vanity mailbox quota (MB)', '1024',
            'vanity mode: size of each name@yourdomain mailbox, MB or unlimited'),
        'Server Sync key' => [
            'FriendlyName' => 'Server Sync key',
            'Type' => 'text',
            'Size' => '25',
            'Default' => '',
            'Description' => 'a short name unique to this product (e.g. split-basic): Server Sync matches the daemon\'s accounts to their product by it, so two products of the same deployment mode are told apart. Without one, Server Sync pairs this product\'s accounts with no product.',
        ],
        'KVM profile' => [
            'FriendlyName' => 'KVM profile',
            'Type' => 'dropdown',
            'Loader' => 'hostbridge_LoaderKvmProfiles',
            'Description' => 'kvm mode: the daemon\'s KVM profile (cluster, CPU, RAM, disks and their I/O limits, network, firewall, IPs, OS templates, clone mode); create profiles with hostbridge kvm-profile add or on the daemon\'s admin pages. Configurable options cores, sockets, memory (MB), disk (GB), extra_disk (GB, 0 = none), ipv4, ipv6, rate (MB/s), bandwidth (GB), snapshots, backups and os override it; custom fields hostname and ssh_keys. Leave it at none for other modes.',
            'SimpleMode' => true,
        ],
        // Position 16. lib/HostingPlans.php holds the setting and its Loader function (required here,
        // so the Loader exists whenever WHMCS has read the settings).
        'Hosting plan' => HostingPlans::setting(),
    ];
}

/**
 * Loader of "KVM profile": a "none" entry (every non-KVM product keeps it), then the daemon's KVM
 * profiles as [id => name]. Throws, readable, when the daemon cannot be asked.
 *
 * @see https://developers.whmcs.com/provisioning-modules/loader-functions/
 * @throws \Exception
 */
function hostbridge_LoaderKvmProfiles(array $params): array
{
    $r = Calls::run($params, 'LoaderKvmProfiles', 'GET', '/v1/kvm-profiles', null);
    if (!$r['ok']) {
        throw new \Exception($r['error']);
    }
    return KvmProfiles::options($r['data']);
}

/**
 * Loader of "Hosting plan": a "none" entry (the value of every product without a profile), then the
 * daemon's hosting plan profiles as [id => name]. Throws, readable, when the daemon cannot be asked.
 *
 * @see https://developers.whmcs.com/provisioning-modules/loader-functions/
 * @throws \Exception
 */
function hostbridge_LoaderHostingPlans(array $params): array
{
    $r = Calls::run($params, 'LoaderHostingPlans', 'GET', '/v1/hosting-plans', null);
    if (!$r['ok']) {
        throw new \Exception($r['error']);
    }
    return HostingPlans::options($r['data']);
}

/**
 * Loader of "Server group": the daemon's server groups as [id => name]. WHMCS shows the message
 * of a thrown Exception beside the field, so every failure is thrown, readable.
 *
 * @see https://developers.whmcs.com/provisioning-modules/loader-functions/
 * @throws \Exception
 */
function hostbridge_LoaderServerGroups(array $params): array
{
    $r = Calls::run($params, 'LoaderServerGroups', 'GET', '/v1/server-groups', null);
    if (!$r['ok']) {
        throw new \Exception($r['error']);
    }
    return ServerGroups::options($r['data']);
}

/**
 * The server record's Test Connection button: GET /v1/status, signed, so a wrong secret shows, and
 * with the module's version, so a daemon that does not go with this module says so (an older
 * daemon that does not check is caught here, from the version it reports). On success, "versions"
 * names both, e.g. "hostbridge daemon 0.1.0, WHMCS module 0.1.0".
 *
 * @see https://developers.whmcs.com/provisioning-modules/supported-functions/
 */
function hostbridge_TestConnection(array $params): array
{
    $r = Calls::run($params, 'TestConnection', 'GET', '/v1/status', null);
    if (!$r['ok']) {
        return ['success' => false, 'error' => $r['error']];
    }
    $daemon = is_array($r['data']) && is_string($r['data']['version'] ?? null) ? $r['data']['version'] : '';
    $module = DaemonClient::MODULE_VERSION;
    if (!DaemonClient::versionsCompatible($daemon, $module)) {
        return ['success' => false, 'error' => 'hostbridge: the daemon ' . ($daemon !== '' ? $daemon : '(no version reported)')
            . " does not go with this WHMCS module {$module}: the module {$module} works with the daemon " . DaemonClient::compatibleLine($module)
            . '; install the module and the daemon of the same release'];
    }
    return ['success' => true, 'error' => '', 'versions' => "hostbridge daemon {$daemon}, WHMCS module {$module}"];
}

/**
 * A new service: the daemon records it and plans its deployment, and the call returns at once.
 *
 * @see https://developers.whmcs.com/provisioning-modules/supported-functions/
 */
function hostbridge_CreateAccount(array $params): string
{
    return Calls::action($params, 'CreateAccount', 'POST', '/v1/services', static fn (Params $p): array => [
        'whmcs_service_id' => $p->serviceId(),
        'client_id' => $p->int('userid'),
        'product_id' => $p->int('pid'),
        'domain' => $p->str('domain'),
        'username' => $p->str('username'),
        'password' => $p->str('password', false),
        'email' => $p->clientEmail(),
        'server_group_id' => $p->idOrString('configoption2'),
        ...$p->package(),
    ]);
}

/** @see https://developers.whmcs.com/provisioning-modules/supported-functions/ */
function hostbridge_SuspendAccount(array $params): string
{
    return Calls::serviceAction($params, 'SuspendAccount', 'suspend', static fn (Params $p): array => [
        'reason' => $p->str('suspendreason'),
    ]);
}

/** @see https://developers.whmcs.com/provisioning-modules/supported-functions/ */
function hostbridge_UnsuspendAccount(array $params): string
{
    return Calls::serviceAction($params, 'UnsuspendAccount', 'unsuspend');
}

/** @see https://developers.whmcs.com/provisioning-modules/supported-functions/ */
function hostbridge_TerminateAccount(array $params): string
{
    return Calls::serviceAction($params, 'TerminateAccount', 'terminate');
}

/**
 * Upgrade or downgrade: the daemon re-plans the service from the product's new settings and options.
 *
 * @see https://developers.whmcs.com/provisioning-modules/supported-functions/
 */
function hostbridge_ChangePackage(array $params): string
{
    return Calls::serviceAction($params, 'ChangePackage', 'change-package', static fn (Params $p): array => [
        'product_id' => $p->int('pid'),
        ...$p->package(),
    ]);
}

/**
 * The service's new password. On a suspended service (HestiaCP refuses a suspended user's new
 * password) the daemon keeps it, sealed, and sets it right after the next Unsuspend: the call still
 * succeeds, so WHMCS and the daemon hold the same password (docs/whmcs.md).
 *
 * @see https://developers.whmcs.com/provisioning-modules/supported-functions/
 */
function hostbridge_ChangePassword(array $params): string
{
    return Calls::serviceAction($params, 'ChangePassword', 'change-password', static fn (Params $p): array => [
        'password' => $p->str('password', false),
    ]);
}

/**
 * The admin service page's extra buttons, label => the hostbridge_<suffix> function each runs.
 * WHMCS passes the service's $params: a KVM product (configoption1 "kvm") gets the VM's buttons
 * (lib/Buttons.php), every other product the hosting ones.
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_AdminCustomButtonArray(array $params = []): array
{
    return Buttons::forProduct($params);
}

/**
 * Start VM (KVM products): the daemon queues the VM's start and checks that it runs. Refused, in
 * the daemon's words, while the service is suspended or not deployed, and for a hosting service.
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_StartVm(array $params): string
{
    return Calls::serviceAction($params, 'StartVm', 'actions/start');
}

/** Stop VM (KVM products): a shutdown, then a hard stop if the guest does not go down. @see https://developers.whmcs.com/provisioning-modules/custom-functions/ */
function hostbridge_StopVm(array $params): string
{
    return Calls::serviceAction($params, 'StopVm', 'actions/stop');
}

/** Reboot VM (KVM products): stop, start, check that it runs. @see https://developers.whmcs.com/provisioning-modules/custom-functions/ */
function hostbridge_RebootVm(array $params): string
{
    return Calls::serviceAction($params, 'RebootVm', 'actions/reboot');
}

/** @see https://developers.whmcs.com/provisioning-modules/custom-functions/ */
function hostbridge_Redeploy(array $params): string
{
    return Calls::serviceAction($params, 'Redeploy', 'actions/redeploy');
}

/** @see https://developers.whmcs.com/provisioning-modules/custom-functions/ */
function hostbridge_VerifyRepair(array $params): string
{
    return Calls::serviceAction($params, 'VerifyRepair', 'actions/verify-repair');
}

/** @see https://developers.whmcs.com/provisioning-modules/custom-functions/ */
function hostbridge_ForceTerminate(array $params): string
{
    return Calls::serviceAction($params, 'ForceTerminate', 'actions/force-terminate');
}

/** @see https://developers.whmcs.com/provisioning-modules/custom-functions/ */
function hostbridge_SyncUsage(array $params): string
{
    return Calls::serviceAction($params, 'SyncUsage', 'actions/sync-usage');
}

/**
 * The client's product-details page. A KVM product shows the customer's VM panel (lib/VmPanel.php,
 * templates/panel.tpl), one tab at a time. Any other product: the daemon renders (and escapes) the fragment; the overview
 * template prints it as is and reloads the page every refresh_s seconds while the service deploys.
 * A client sees a plain apology when the daemon cannot answer; the detail goes to the Module Log.
 *
 * @see https://developers.whmcs.com/provisioning-modules/client-area-output/
 */
function hostbridge_ClientArea(array $params): array
{
    if (Buttons::isKvm($params)) {
        return VmPanel::clientArea($params, $_GET);
    }
    $r = ServiceView::fetch($params, 'ClientArea', 'client');
    if (!$r['ok']) {
        return [
            'tabOverviewModuleOutputTemplate' => 'templates/error.tpl',
            'templateVariables' => [
                'hostbridgeError' => 'The status of this service cannot be shown right now. Please try again in a few minutes, or contact support if this persists.',
            ],
        ];
    }
    // The SSL box's forms carry WHMCS's CSRF token (lib/Ssl.php).
    $token = function_exists('generate_token') ? (string) generate_token('plain') : '';
    // Once the service runs (or is suspended, its forms then off), the hosting panel follows its
    // status; while it deploys or after a failed deployment, the deploy progress page stays alone.
    if (in_array($r['state'], HostingPanel::STATES, true)) {
        $panel = HostingPanel::fetch($params, HostingPanel::tab($_GET['hbtab'] ?? null), $token);
        return [
            'tabOverviewModuleOutputTemplate' => 'templates/hosting-panel.tpl',
            'templateVariables' => [
                'hostbridgeHtml' => Ssl::withToken($r['html'], $token),
                'hostbridgeState' => $r['state'],
                'hostbridgeRefresh' => $r['refresh_s'],
                'hostbridgePanel' => $panel['ok'] ? $panel['html'] : '',
                'hostbridgePanelError' => $panel['ok'] ? '' : HostingPanel::UNAVAILABLE,
            ],
        ];
    }
    return [
        'tabOverviewModuleOutputTemplate' => 'templates/overview.tpl',
        'templateVariables' => [
            'hostbridgeHtml' => Ssl::withToken($r['html'], $token),
            'hostbridgeState' => $r['state'],
            'hostbridgeRefresh' => $r['refresh_s'],
        ],
    ];
}

/**
 * The custom functions a client may call from the client area without a button (WHMCS checks that
 * the logged-in client owns the service first): the panel's forms, its live figures, its console.
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_ClientAreaAllowedFunctions(): array
{
    return ['VmAction', 'VmLive', 'VmConsole', 'SslAction', 'HostingAction', 'HostingLive'];
}

/**
 * A form of the client's SSL box (POST, with WHMCS's CSRF token checked as for VmAction): renew now,
 * or upload / remove their own certificate (lib/Ssl.php). Returns 'success' or the daemon's refusal
 * in the customer's words (a suspended service, a paused domain, a certificate that does not fit).
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_SslAction(array $params): string
{
    if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'POST') {
        return 'Please use the buttons of the SSL box.';
    }
    if (!VmPanel::csrfOk()) {
        return 'The form has expired. Please reload the page and try again.';
    }
    if (Buttons::isKvm($params)) {
        return 'This service has no SSL certificates to manage.';
    }
    return Ssl::action($params, Text::str($_POST['hb_action'] ?? ''), Text::str($_POST['hb_role'] ?? ''), Ssl::fieldsOf($_POST));
}

/**
 * A form of the VM panel (POST, with WHMCS's CSRF token): hb_action names the action, the hbf_*
 * inputs are its fields. Returns 'success' (WHMCS shows "Action completed successfully") or the
 * daemon's refusal in the customer's words (a suspended service, a limit reached, a bad field).
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_VmAction(array $params): string
{
    if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'POST') {
        return 'Please use the buttons of the panel.';
    }
    if (!VmPanel::csrfOk()) {
        return 'The form has expired. Please reload the page and try again.';
    }
    if (!Buttons::isKvm($params)) {
        return 'This service has no virtual server panel.';
    }
    return VmPanel::action($params, Text::str($_POST['hb_action'] ?? ''), VmPanel::fieldsOf($_POST));
}

/**
 * A form of the hosting panel (POST, with WHMCS's CSRF token checked as for VmAction): hb_action
 * names the action (mailbox-create, database-create…), the hbf_* inputs are its fields (passwords
 * masked in the Module Log). Returns 'success' or the daemon's refusal in the customer's words (a
 * suspended service, a plan's limit reached, a bad field).
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_HostingAction(array $params): string
{
    if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'POST') {
        return 'Please use the buttons of the panel.';
    }
    if (!VmPanel::csrfOk()) {
        return 'The form has expired. Please reload the page and try again.';
    }
    if (Buttons::isKvm($params)) {
        return 'This service has no hosting panel.';
    }
    return HostingPanel::action($params, Text::str($_POST['hb_action'] ?? ''), VmPanel::fieldsOf($_POST));
}

/**
 * The hosting panel's progress of the running action: the daemon's JSON, echoed as is, and the
 * request ends here (no page around it).
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_HostingLive(array $params)
{
    $r = HostingPanel::live($params);
    if (!headers_sent()) {
        http_response_code($r['status']);
        header('Content-Type: application/json; charset=utf-8');
        header('Cache-Control: no-store');
    }
    echo $r['json'];
    exit;
}

/**
 * The Overview's live figures: the daemon's JSON, echoed as is (Content-Type application/json), and
 * the request ends here (no page around it).
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_VmLive(array $params)
{
    $r = VmPanel::live($params);
    if (!headers_sent()) {
        http_response_code($r['status']);
        header('Content-Type: application/json; charset=utf-8');
        header('Cache-Control: no-store');
    }
    echo $r['json'];
    exit;
}

/**
 * The Console button: the daemon issues a short-lived console link for this client and the browser
 * is sent there (Location). A refusal (a suspended service, a product without a console) is
 * returned, and WHMCS shows it on the product details page.
 *
 * @see https://developers.whmcs.com/provisioning-modules/custom-functions/
 */
function hostbridge_VmConsole(array $params)
{
    if (!VmPanel::csrfOk()) {
        return 'The link has expired. Please reload the page and try again.';
    }
    $r = VmPanel::console($params);
    if (!$r['ok']) {
        return $r['error'];
    }
    if (!headers_sent()) {
        header('Location: ' . $r['url'], true, 302);
        header('Cache-Control: no-store');
    }
    exit;
}

/**
 * The admin service page: the daemon's admin fragment, or one line saying why it is missing.
 *
 * @see https://developers.whmcs.com/provisioning-modules/admin-services-tab/
 */
function hostbridge_AdminServicesTabFields(array $params): array
{
    $r = ServiceView::fetch($params, 'AdminServicesTabFields', 'admin');
    if (!$r['ok']) {
        return ['hostbridge' => '<span class="text-danger">' . htmlspecialchars($r['error'], ENT_QUOTES, 'UTF-8') . '</span>'];
    }
    // Links to the service's panel in the hostbridge addon (Addons › hostbridge, shown by WHMCS
    // only to the admin roles given access to it): the Deploy tab with its timeline, its tasks, and
    // for hosting its SSL tab (certificates, Issue / Renew now, the customer's own certificate).
    $id = (int) ($params['serviceid'] ?? 0);
    $base = 'addonmodules.php?module=hostbridge&amp;page=services/' . $id;
    $links = '<p class="hostbridge-admin-links">'
        . '<a href="' . $base . '&amp;tab=deploy" class="hostbridge-timeline">Timeline</a> · '
        . '<a href="' . $base . '&amp;tab=tasks" class="hostbridge-tasks">Tasks</a>'
        . (Buttons::isKvm($params) ? '' : ' · <a href="' . $base . '&amp;tab=ssl" class="hostbridge-ssl">SSL</a>')
        . ' <span class="text-muted">(Addons › hostbridge)</span></p>';
    return ['hostbridge' => $r['html'] . $links];
}

/**
 * Daily cron, once per hostbridge server record: copies the daemon's disk and bandwidth figures
 * into tblhosting (lib/WhmcsDb.php). Returns nothing and never throws.
 *
 * @see https://developers.whmcs.com/provisioning-modules/usage-update/
 */
function hostbridge_UsageUpdate(array $params): void
{
    try {
        $rows = UsageReport::fetch($params, 'UsageUpdate');
    } catch (\Throwable $e) {
        return; // the Module Log has why
    }
    WhmcsDb::storeUsage($rows, 'UsageUpdate', $params);
}

/**
 * Usage billing (WHMCS 7.9+): the provider object (lib/MetricsProvider.php), which reads the daemon's
 * usage report only when WHMCS asks for usage.
 *
 * @see https://developers.whmcs.com/provisioning-modules/usage-metrics/
 */
function hostbridge_MetricProvider(array $params)
{
    // Loaded here, not by lib/loader.php: it implements interfaces that exist only inside WHMCS.
    if (!class_exists(MetricsProvider::class)) {
        require_once __DIR__ . '/lib/MetricsProvider.php';
    }
    return new MetricsProvider(static fn (): array => UsageReport::fetch($params, 'MetricProvider'));
}

/**
 * Server Sync (WHMCS 7.8+): the daemon's accounts (lib/ServerSync.php).
 *
 * @see https://developers.whmcs.com/provisioning-modules/server-sync/
 */
function hostbridge_ListAccounts(array $params): array
{
    $r = Calls::run($params, 'ListAccounts', 'GET', '/v1/accounts', null);
    if (!$r['ok']) {
        return ['success' => false, 'error' => $r['error']];
    }
    $accounts = $r['data']['accounts'] ?? null;
    if (!is_array($accounts)) {
        return ['success' => false, 'error' => 'hostbridge: the daemon\'s answer to GET /v1/accounts has no list of accounts'];
    }
    return ['success' => true, 'accounts' => ServerSync::rows($accounts)];
}
