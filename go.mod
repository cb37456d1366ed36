module github.com/lienthong/lienthong

go 1.26

require (
	github.com/beevik/etree v1.8.1
	github.com/russellhaering/goxmldsig v1.6.1
	go.yaml.in/yaml/v3 v3.0.6
)

require github.com/jonboulle/clockwork v0.5.0 // indirect
