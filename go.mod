module github.com/lienthong/lienthong

go 1.26

require (
	github.com/beevik/etree v1.8.1 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)
