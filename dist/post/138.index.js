export const id = 138;
export const ids = [138];
export const modules = {

/***/ 4138:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DeleteObjectCommand: () => (/* reexport safe */ _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.DeleteObjectCommand),
/* harmony export */   GetObjectCommand: () => (/* reexport safe */ _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.GetObjectCommand),
/* harmony export */   HeadObjectCommand: () => (/* reexport safe */ _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.HeadObjectCommand),
/* harmony export */   ListObjectsV2Command: () => (/* reexport safe */ _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.ListObjectsV2Command),
/* harmony export */   PutObjectCommand: () => (/* reexport safe */ _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.PutObjectCommand),
/* harmony export */   S3Client: () => (/* reexport safe */ _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__.S3Client),
/* harmony export */   Upload: () => (/* reexport safe */ _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_1__._),
/* harmony export */   getSignedUrl: () => (/* reexport safe */ _aws_sdk_s3_request_presigner__WEBPACK_IMPORTED_MODULE_2__.A)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2358);
/* harmony import */ var _aws_sdk_s3_request_presigner__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8505);
/**
 * The S3 SDK pieces S3Store uses, in one module that S3Store loads with `import()` when a store
 * first sends a request. Loaded up front it cost `validate` ~17 MB of peak RSS (91 → 74 MB in the
 * bundled CLI, bench row `memory`): `validate`, `--help` and every folder-store command now never
 * load it (the bundler puts it in chunks of their own; __tests__/entry/cli-lazy-s3.test.ts checks).
 * Import values from here only dynamically; `import type` from the SDK is free.
 */





/***/ })

};
