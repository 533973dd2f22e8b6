/** What the sweeper's tag discovery needs of the Tagging API, for a dynamic import() that bundles only these. */
export {
  paginateGetResources,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
