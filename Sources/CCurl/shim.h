#ifndef PURSER_CCURL_SHIM_H
#define PURSER_CCURL_SHIM_H
// Swift cannot call C variadic functions, and curl_easy_setopt, curl_easy_getinfo and
// curl_multi_setopt are variadic. These typed inline wrappers give Swift one entry point per
// argument type; each passes its argument through unchanged, so curl sees exactly what a C caller
// would pass.
//
// The gcc type-checking macros are switched off because they would rewrite the calls below into
// statement expressions the Clang importer does not need.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

/// The signature curl uses for its write and header callbacks.
typedef size_t (*purser_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);

static inline CURLcode purser_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode purser_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode purser_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode purser_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode purser_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sets CURLOPT_WRITEFUNCTION; the callback receives the response body in pieces.
static inline CURLcode purser_curl_setopt_write_function(CURL *handle, purser_curl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/// Sets CURLOPT_HEADERFUNCTION; the callback receives one complete header line per call.
static inline CURLcode purser_curl_setopt_header_function(CURL *handle, purser_curl_data_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

static inline CURLcode purser_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode purser_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// Reads CURLINFO_PRIVATE, the pointer stored with CURLOPT_PRIVATE.
static inline CURLcode purser_curl_getinfo_private(CURL *handle, void **value) {
    return curl_easy_getinfo(handle, CURLINFO_PRIVATE, value);
}

static inline CURLMcode purser_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// The transfer result of a CURLMSG_DONE message (a member of an anonymous union in C).
static inline CURLcode purser_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
