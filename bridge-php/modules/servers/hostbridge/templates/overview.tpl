{* hostbridge: the daemon's view of this service. The daemon renders and escapes the fragment, so it is
   printed as is (nofilter). While the service deploys, the daemon sends refresh_s and the page reloads
   itself so the client watches the deployment without pressing F5. hostbridgeRefresh is a whole
   number of seconds (2-300) or null, set by the module. *}
<div class="hostbridge-service" data-state="{$hostbridgeState|escape:'html'}">
    {$hostbridgeHtml nofilter}
</div>
{if $hostbridgeRefresh}
<script>
    window.setTimeout(function () { window.location.reload(); }, {$hostbridgeRefresh} * 1000);
</script>
{/if}
