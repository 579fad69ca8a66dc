// The admin landing pages a signed link from WHMCS may name: one pattern for the API's body schema
// (POST /v1/ui-links) and the pages' check when the link is opened, so the two cannot drift apart.
export const LINK_PAGE_PATTERN = '^(overview|tasks|servers|groups|dns-zones|log|statistics|settings|proxmox|ip-pools|kvm-profiles|hosting-plans|vms'
  + '|vms/[1-9][0-9]{0,9}|groups/[1-9][0-9]{0,9}/actions|services/[1-9][0-9]{0,9}|tasks/[1-9][0-9]{0,17}'
  + '|proxmox/[1-9][0-9]{0,9}|ip-pools/[1-9][0-9]{0,9})$';
