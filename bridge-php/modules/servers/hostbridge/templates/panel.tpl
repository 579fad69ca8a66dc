{* hostbridge: the customer's VM panel (KVM products). The daemon renders and escapes it, so it is
   printed as is (nofilter), like overview.tpl; its links and forms all go back to this page and to
   the module's custom functions (VmAction, VmLive, VmConsole), never to the daemon. *}
<div class="hostbridge-vm-panel">
    {$hostbridgePanel nofilter}
</div>
