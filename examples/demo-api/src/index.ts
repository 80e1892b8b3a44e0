export { buildApi, SCOPES, type ApiOptions } from './app.js';
export { PhotoStore, MAX_PHOTOS_PER_LIBRARY, type Photo, type NewPhoto } from './photos.js';
