export const id = 51;
export const ids = [51];
export const modules = {

/***/ 65051:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DOCKER_CONFIG: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.e6),
/* harmony export */   DOCKER_LAYER_GZIP: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.MZ),
/* harmony export */   DOCKER_MANIFEST: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.Vv),
/* harmony export */   DOCKER_MANIFEST_LIST: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.m6),
/* harmony export */   MANIFEST_ACCEPT: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.dY),
/* harmony export */   OCI_CONFIG: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.TF),
/* harmony export */   OCI_INDEX: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.$p),
/* harmony export */   OCI_LAYER_GZIP: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.BQ),
/* harmony export */   OCI_MANIFEST: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.EG),
/* harmony export */   RegistryAuthError: () => (/* reexport safe */ _errors_js__WEBPACK_IMPORTED_MODULE_1__.w4),
/* harmony export */   RegistryError: () => (/* reexport safe */ _errors_js__WEBPACK_IMPORTED_MODULE_1__.gl),
/* harmony export */   RegistryUnreachableError: () => (/* reexport safe */ _errors_js__WEBPACK_IMPORTED_MODULE_1__.ST),
/* harmony export */   connectRegistry: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.gm),
/* harmony export */   describeCredentials: () => (/* reexport safe */ _errors_js__WEBPACK_IMPORTED_MODULE_1__.Mo),
/* harmony export */   digestOf: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.ol),
/* harmony export */   ensureCacheRepository: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.$0),
/* harmony export */   formatScope: () => (/* reexport safe */ _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__.gk),
/* harmony export */   isImageManifestMediaType: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.d6),
/* harmony export */   isIndexMediaType: () => (/* reexport safe */ _media_types_js__WEBPACK_IMPORTED_MODULE_3__.$$),
/* harmony export */   isTransientAwsError: () => (/* reexport safe */ _aws_index_js__WEBPACK_IMPORTED_MODULE_2__.Sc),
/* harmony export */   nextLink: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.IX),
/* harmony export */   normaliseScopes: () => (/* reexport safe */ _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__.YZ),
/* harmony export */   parseScope: () => (/* reexport safe */ _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__.Sk),
/* harmony export */   parseWwwAuthenticate: () => (/* reexport safe */ _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__.qd),
/* harmony export */   pickPlatform: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.vw),
/* harmony export */   repositoryScope: () => (/* reexport safe */ _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__.F7),
/* harmony export */   scopesCover: () => (/* reexport safe */ _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__.Bn),
/* harmony export */   tagHolding: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.Ye)
/* harmony export */ });
/* harmony import */ var _client_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(27119);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(50228);
/* harmony import */ var _aws_index_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76762);
/* harmony import */ var _media_types_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(77103);
/* harmony import */ var _www_authenticate_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(31844);







/***/ })

};
