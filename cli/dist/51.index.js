export const id = 51;
export const ids = [51];
export const modules = {

/***/ 5051:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   connectRegistry: () => (/* reexport safe */ _client_js__WEBPACK_IMPORTED_MODULE_0__.gm)
/* harmony export */ });
/* harmony import */ var _client_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(2253);







/***/ })

};
