/** The service overview's read-model name, shared by all its versions (tables `service_overview_v<N>`). */
export const SERVICE_OVERVIEW = 'service_overview';
