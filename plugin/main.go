// Command tokenmeter is the proxy-wasm HTTP filter; main only registers the
// VM context, all behaviour lives in the other files of this package.
package main

func main() {}
