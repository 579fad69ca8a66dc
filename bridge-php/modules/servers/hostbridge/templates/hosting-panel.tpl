{* hostbridge: a hosting service's status (with its SSL box) and, below it, the customer's hosting
   panel. The daemon renders and escapes both, so they are printed as is (nofilter), like
   overview.tpl and panel.tpl; their links and forms go back to this page and to the module's custom
   functions (HostingAction, HostingLive, SslAction), never to the daemon. *}
<div class="hostbridge-service" data-state="{$hostbridgeState|escape:'html'}">
    {$hostbridgeHtml nofilter}
</div>
<div class="hostbridge-hosting-panel">
    {if $hostbridgePanel}{$hostbridgePanel nofilter}{/if}
    {if $hostbridgePanelError}<div class="alert alert-warning">{$hostbridgePanelError|escape:'html'}</div>{/if}
</div>
