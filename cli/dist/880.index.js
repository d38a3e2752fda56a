export const id = 880;
export const ids = [880];
export const modules = {

/***/ 5880:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   BUNDLE_MEDIA_TYPE: () => (/* reexport safe */ _bundle_js__WEBPACK_IMPORTED_MODULE_1__.NV),
/* harmony export */   COSIGN_SIGN_PREDICATE: () => (/* reexport safe */ _bundle_js__WEBPACK_IMPORTED_MODULE_1__.u),
/* harmony export */   GITHUB_ISSUER: () => (/* reexport safe */ _keyless_js__WEBPACK_IMPORTED_MODULE_5__.oX),
/* harmony export */   IN_TOTO_MEDIA_TYPE: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.xy),
/* harmony export */   KEYLESS: () => (/* reexport safe */ _keyless_js__WEBPACK_IMPORTED_MODULE_5__.DJ),
/* harmony export */   SLSA_PREDICATE: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.wx),
/* harmony export */   SPDX_MEDIA_TYPE: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.AE),
/* harmony export */   SPDX_PREDICATE: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.I$),
/* harmony export */   SYFT_INSTALL_HINT: () => (/* reexport safe */ _plan_js__WEBPACK_IMPORTED_MODULE_4__.jR),
/* harmony export */   artifactContent: () => (/* reexport safe */ _referrers_js__WEBPACK_IMPORTED_MODULE_2__.O_),
/* harmony export */   attach: () => (/* reexport safe */ _referrers_js__WEBPACK_IMPORTED_MODULE_2__.K0),
/* harmony export */   attestImage: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.DT),
/* harmony export */   attestPushed: () => (/* reexport safe */ _plan_js__WEBPACK_IMPORTED_MODULE_4__.Rq),
/* harmony export */   buildFacts: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__._x),
/* harmony export */   checkBundle: () => (/* reexport safe */ _bundle_js__WEBPACK_IMPORTED_MODULE_1__.Jp),
/* harmony export */   checkSignature: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.jC),
/* harmony export */   keyHint: () => (/* reexport safe */ _keys_js__WEBPACK_IMPORTED_MODULE_0__.p4),
/* harmony export */   loadSigner: () => (/* reexport safe */ _keys_js__WEBPACK_IMPORTED_MODULE_0__.vu),
/* harmony export */   loadVerifier: () => (/* reexport safe */ _keys_js__WEBPACK_IMPORTED_MODULE_0__.VH),
/* harmony export */   readAttest: () => (/* reexport safe */ _plan_js__WEBPACK_IMPORTED_MODULE_4__.CK),
/* harmony export */   readVerifyKey: () => (/* reexport safe */ _plan_js__WEBPACK_IMPORTED_MODULE_4__.vo),
/* harmony export */   referrersOf: () => (/* reexport safe */ _referrers_js__WEBPACK_IMPORTED_MODULE_2__.aH),
/* harmony export */   referrersTag: () => (/* reexport safe */ _referrers_js__WEBPACK_IMPORTED_MODULE_2__.LN),
/* harmony export */   signStatement: () => (/* reexport safe */ _bundle_js__WEBPACK_IMPORTED_MODULE_1__.fT),
/* harmony export */   signatureProblem: () => (/* reexport safe */ _images_js__WEBPACK_IMPORTED_MODULE_3__.o1),
/* harmony export */   statementFor: () => (/* reexport safe */ _bundle_js__WEBPACK_IMPORTED_MODULE_1__.JM),
/* harmony export */   syftFor: () => (/* reexport safe */ _plan_js__WEBPACK_IMPORTED_MODULE_4__.Eg)
/* harmony export */ });
/* harmony import */ var _keys_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(19454);
/* harmony import */ var _bundle_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(16278);
/* harmony import */ var _referrers_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(53148);
/* harmony import */ var _images_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(71200);
/* harmony import */ var _plan_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(69245);
/* harmony import */ var _keyless_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(734);
// The face of src/supplychain: signing, SBOMs and provenance of pushed images, and the check of
// signatures before a deploy (Sigstore bundles as OCI referrers, as cosign v3 writes them).








/***/ })

};
