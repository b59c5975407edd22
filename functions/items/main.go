// Command items is a placeholder sample function.
package main

func main() {}
